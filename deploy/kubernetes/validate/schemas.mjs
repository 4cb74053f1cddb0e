// Checks objects against the API schemas shipped in npm packages: kubernetes-models (the Kubernetes OpenAPI
// definitions compiled to validators) and @kubernetes-models/prometheus-operator (the monitoring.coreos.com CRDs'
// schemas). The schemas give types, formats, enums and required fields; they do not forbid unknown fields (the
// Kubernetes OpenAPI never says additionalProperties: false; the API server drops or refuses them depending on
// field validation). Unknown fields are found here by watching which fields the validator reads: a compiled
// validator looks up every property its schema declares and enumerates the keys only of free-form maps, so a key
// it never looked up is a field the schema does not have (a misspelling such as readinesProbe).
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");

// Which package holds the models of an API group.
function packageFor(apiVersion) {
  return apiVersion.startsWith("monitoring.coreos.com/") ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
}

const cache = new Map();

/** The compiled validator of apiVersion/kind, or null when no package has a schema for it. */
async function validatorFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (cache.has(key)) return cache.get(key);
  const pkg = join(modules, packageFor(apiVersion));
  if (!existsSync(pkg)) {
    throw new Error(`the npm packages are not installed (${pkg} is missing): run 'npm ci' in deploy/kubernetes/validate (scripts/bootstrap.sh does)`);
  }
  // The model module of the kind (e.g. apps/v1/DaemonSet.js) imports its schema's validator from _schemas/.
  const model = join(pkg, apiVersion, `${kind}.js`);
  let validate = null;
  if (/^[A-Za-z0-9.\-/]+$/.test(apiVersion) && /^[A-Za-z0-9]+$/.test(kind) && existsSync(model)) {
    const source = readFileSync(model, "utf8");
    const m = /_schemas\/([A-Za-z0-9]+)\.js/.exec(source);
    if (m) {
      validate = (await import(pathToFileURL(join(pkg, "_schemas", `${m[1]}.js`)).href)).validate;
    }
  }
  cache.set(key, validate);
  return validate;
}

// Wraps a value so that every property the validator reads, and every object whose keys it enumerates, is recorded.
function track(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  const record = { path, value, read: new Set(), enumerated: false };
  seen.push(record);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string") return v;
      record.read.add(key);
      if (v !== null && typeof v === "object" && Object.hasOwn(target, key)) {
        if (!children.has(key)) children.set(key, track(v, `${path}/${key}`, seen));
        return children.get(key);
      }
      return v;
    },
    ownKeys(target) {
      record.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

function message(e) {
  const p = e.params ?? {};
  switch (e.keyword) {
    case "required": return `missing required field '${p.missingProperty}'`;
    case "type": return `must be ${p.type}`;
    case "enum": return `must be one of ${JSON.stringify(p.allowedValues)}`;
    case "format": return `must be a valid ${p.format}`;
    default: return `${e.keyword} ${JSON.stringify(p)}`;
  }
}

/** Problems of one object as "path: message" strings; an empty list when it is valid. */
export async function schemaProblems(obj) {
  const validate = await validatorFor(obj.apiVersion, obj.kind);
  if (!validate) {
    return [`no schema for ${obj.apiVersion} ${obj.kind} in kubernetes-models or @kubernetes-models/prometheus-operator`];
  }
  const seen = [];
  const ok = validate(track(obj, "", seen));
  const problems = [];
  if (!ok) {
    const unique = new Set();
    for (const e of validate.errors ?? []) {
      // anyOf/oneOf branches report on the same path; keep the first message per path.
      const line = `${e.instancePath || "/"}: ${message(e)}`;
      if (!unique.has(e.instancePath)) {
        unique.add(e.instancePath);
        problems.push(line);
      }
    }
  }
  for (const r of seen) {
    if (Array.isArray(r.value) || r.enumerated) continue;
    for (const key of Object.keys(r.value)) {
      if (!r.read.has(key)) {
        problems.push(`${r.path}/${key}: unknown field (not in the ${obj.apiVersion} ${obj.kind} schema)`);
      }
    }
  }
  return problems;
}
