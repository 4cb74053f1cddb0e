// Renders a kustomization (deploy/kubernetes/base or an overlay) the way `kubectl apply -k` / `kustomize build`
// would, for the subset of kustomize that these manifests use: resources (files and directories holding a
// kustomization), namespace, images, and patches (strategic merge or JSON 6902, from files). Anything else in a
// kustomization.yaml is refused by name, so a manifest never silently means something the renderer ignored.
// A patch that matches no object is an error, as it is for kustomize.
import { readFileSync, statSync, existsSync } from "node:fs";
import { join, resolve, relative } from "node:path";
import { parseAllDocuments, stringify } from "yaml";

/** An error in the manifests: printed as one line naming the file, never as a stack trace. */
export class ManifestError extends Error {}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const SUPPORTED_KEYS = new Set(["apiVersion", "kind", "namespace", "resources", "patches", "images"]);
const SUPPORTED_PATCH_KEYS = new Set(["path", "target"]);
const SUPPORTED_TARGET_KEYS = new Set(["group", "version", "kind", "name", "namespace"]);

// Kinds that are not namespaced (the namespace transformer leaves them alone).
const CLUSTER_SCOPED = new Set([
  "Namespace", "Node", "PersistentVolume", "StorageClass", "CustomResourceDefinition", "ClusterRole",
  "ClusterRoleBinding", "PriorityClass", "RuntimeClass", "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration", "IngressClass", "CSIDriver",
]);

// kustomize's legacy output order (the default of kustomize build): these kinds first, in this order, the
// rest after them in input order.
const KIND_ORDER = [
  "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount", "PodSecurityPolicy",
  "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service",
  "LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment", "StatefulSet",
  "CronJob", "PodDisruptionBudget",
];

// Merge keys of the strategic merge patch for the lists these manifests use (from the Kubernetes API's
// patchMergeKey tags); any other list is replaced, as kustomize does for lists without a merge key.
const MERGE_KEYS = {
  containers: "name", initContainers: "name", ephemeralContainers: "name", volumes: "name", env: "name",
  imagePullSecrets: "name", volumeMounts: "mountPath", volumeDevices: "devicePath", hostAliases: "ip",
};

function readYamlDocuments(file, label = file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ManifestError(`${label}: cannot read: ${e.code ?? e.message}`);
  }
  const docs = parseAllDocuments(text, { version: "1.1", prettyErrors: true, uniqueKeys: true });
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const line = e.linePos?.[0]?.line;
      throw new ManifestError(`${label}${line ? `:${line}` : ""}: not valid YAML: ${e.message.split("\n")[0]}`);
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) {
      out.push(value);
    }
  }
  return out;
}

function kustomizationFile(dir) {
  for (const name of KUSTOMIZATION_FILES) {
    const file = join(dir, name);
    if (existsSync(file)) {
      return file;
    }
  }
  return null;
}

function describe(obj) {
  return `${obj?.kind ?? "?"}/${obj?.metadata?.name ?? "?"}`;
}

function groupOf(apiVersion) {
  return apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.lastIndexOf("/")) : "";
}

function versionOf(apiVersion) {
  return apiVersion.includes("/") ? apiVersion.slice(apiVersion.lastIndexOf("/") + 1) : apiVersion;
}

/** Renders the kustomization in `dir` and returns its objects (plain JSON values), in kustomize's order. */
export function render(dir, root = dir) {
  const objects = build(resolve(dir), resolve(root), []);
  return sortObjects(objects);
}

function build(dir, root, stack) {
  const file = kustomizationFile(dir);
  const where = relative(root, file ?? dir) || ".";
  if (!file) {
    throw new ManifestError(`${relative(root, dir) || dir}: no kustomization.yaml`);
  }
  if (stack.includes(dir)) {
    throw new ManifestError(`${where}: resources include each other in a cycle`);
  }
  const docs = readYamlDocuments(file, where);
  if (docs.length !== 1 || typeof docs[0] !== "object" || Array.isArray(docs[0])) {
    throw new ManifestError(`${where}: must hold one mapping`);
  }
  const k = docs[0];
  for (const key of Object.keys(k)) {
    if (!SUPPORTED_KEYS.has(key)) {
      throw new ManifestError(`${where}: '${key}' is not supported by this renderer (supported: ${[...SUPPORTED_KEYS].join(", ")})`);
    }
  }
  if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization") {
    throw new ManifestError(`${where}: apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization`);
  }

  let objects = [];
  for (const entry of k.resources ?? []) {
    if (typeof entry !== "string" || entry.includes("://")) {
      throw new ManifestError(`${where}: resource '${entry}' must be a relative path (remote resources are not supported)`);
    }
    const path = resolve(dir, entry);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new ManifestError(`${where}: resource '${entry}' does not exist`);
    }
    if (stat.isDirectory()) {
      objects.push(...build(path, root, [...stack, dir]));
    } else {
      for (const obj of readYamlDocuments(path, relative(root, path))) {
        if (typeof obj !== "object" || Array.isArray(obj) || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string" || typeof obj.metadata?.name !== "string") {
          throw new ManifestError(`${relative(root, path)}: every document must be an object with apiVersion, kind and metadata.name`);
        }
        objects.push(obj);
      }
    }
  }

  for (const [i, entry] of (k.patches ?? []).entries()) {
    objects = applyPatchEntry(objects, entry, dir, root, `${where}: patches[${i}]`);
  }

  if (k.namespace !== undefined) {
    if (typeof k.namespace !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(k.namespace)) {
      throw new ManifestError(`${where}: namespace '${k.namespace}' is not a valid namespace name`);
    }
    for (const obj of objects) {
      if (!CLUSTER_SCOPED.has(obj.kind)) {
        obj.metadata.namespace = k.namespace;
      }
    }
  }

  for (const [i, image] of (k.images ?? []).entries()) {
    applyImage(objects, image, `${where}: images[${i}]`);
  }

  return objects;
}

function sortObjects(objects) {
  const rank = (o) => {
    const r = KIND_ORDER.indexOf(o.kind);
    return r < 0 ? KIND_ORDER.length : r;
  };
  return objects.map((o, i) => [o, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([o]) => o);
}

function applyPatchEntry(objects, entry, dir, root, where) {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw new ManifestError(`${where}: must be a mapping with 'path'`);
  }
  for (const key of Object.keys(entry)) {
    if (!SUPPORTED_PATCH_KEYS.has(key)) {
      throw new ManifestError(`${where}: '${key}' is not supported (patches are files: 'path', optional 'target')`);
    }
  }
  if (typeof entry.path !== "string") {
    throw new ManifestError(`${where}: 'path' is required`);
  }
  const file = resolve(dir, entry.path);
  const label = `${relative(root, file)}`;
  const docs = readYamlDocuments(file, label);
  if (docs.length !== 1) {
    throw new ManifestError(`${label}: a patch file holds exactly one document`);
  }
  const patch = docs[0];
  const target = entry.target;
  if (target !== undefined) {
    if (typeof target !== "object" || target === null || Array.isArray(target)) {
      throw new ManifestError(`${where}: 'target' must be a mapping`);
    }
    for (const key of Object.keys(target)) {
      if (!SUPPORTED_TARGET_KEYS.has(key)) {
        throw new ManifestError(`${where}: target '${key}' is not supported (supported: ${[...SUPPORTED_TARGET_KEYS].join(", ")})`);
      }
    }
  }

  if (Array.isArray(patch)) {
    if (!target) {
      throw new ManifestError(`${label}: a JSON 6902 patch needs a 'target' in the kustomization`);
    }
    const matches = objects.filter((o) => matchesTarget(o, target));
    if (matches.length === 0) {
      throw new ManifestError(`${label}: the patch targets nothing (${JSON.stringify(target)})`);
    }
    for (const obj of matches) {
      const patched = applyJson6902(obj, patch, `${label} on ${describe(obj)}`);
      objects[objects.indexOf(obj)] = patched;
    }
    return objects;
  }

  if (typeof patch !== "object" || patch === null) {
    throw new ManifestError(`${label}: a strategic merge patch is a mapping`);
  }
  const selector = target ?? {
    kind: patch.kind,
    name: patch.metadata?.name,
    namespace: patch.metadata?.namespace,
    group: typeof patch.apiVersion === "string" ? groupOf(patch.apiVersion) : undefined,
  };
  if (!selector.kind || !selector.name) {
    throw new ManifestError(`${label}: a strategic merge patch without a target names its object (kind, metadata.name)`);
  }
  const matches = objects.filter((o) => matchesTarget(o, selector));
  if (matches.length === 0) {
    throw new ManifestError(`${label}: the patch targets nothing (${selector.kind}/${selector.name})`);
  }
  const result = [];
  for (const obj of objects) {
    if (!matches.includes(obj)) {
      result.push(obj);
      continue;
    }
    if (patch.$patch === "delete") {
      continue;
    }
    const merged = strategicMerge(obj, patch, `${label} on ${describe(obj)}`);
    merged.metadata.name = obj.metadata.name;
    result.push(merged);
  }
  return result;
}

function matchesTarget(obj, target) {
  if (target.kind !== undefined && obj.kind !== target.kind) return false;
  if (target.name !== undefined && obj.metadata?.name !== target.name) return false;
  if (target.namespace !== undefined && (obj.metadata?.namespace ?? undefined) !== target.namespace) return false;
  if (target.group !== undefined && groupOf(obj.apiVersion) !== target.group) return false;
  if (target.version !== undefined && versionOf(obj.apiVersion) !== target.version) return false;
  return true;
}

function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function clone(v) {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

/** Strategic merge patch (the subset kustomize users write): maps merge, null deletes a key, lists with a merge key
 * merge element by element ($patch: delete removes one), other lists are replaced, $patch: replace replaces. */
export function strategicMerge(target, patch, where, field = "") {
  if (!isObject(patch)) {
    return clone(patch);
  }
  if (patch.$patch === "replace") {
    const { $patch, ...rest } = patch;
    return clone(rest);
  }
  const out = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === "$patch") {
      if (value !== "merge") {
        throw new ManifestError(`${where}: '$patch: ${value}' is not supported at ${field || "/"}`);
      }
      continue;
    }
    if (key.startsWith("$")) {
      throw new ManifestError(`${where}: the directive '${key}' is not supported`);
    }
    const path = `${field}/${key}`;
    if (value === null) {
      delete out[key];
    } else if (isObject(value) && value.$patch === "delete") {
      delete out[key];
    } else if (Array.isArray(value)) {
      out[key] = mergeList(out[key], value, key, where, path);
    } else if (isObject(value)) {
      out[key] = strategicMerge(out[key], value, where, path);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function mergeList(current, patch, key, where, path) {
  let mergeKey = MERGE_KEYS[key];
  if (key === "ports" && patch.every(isObject)) {
    // Container ports merge on containerPort, Service ports on port.
    mergeKey = patch.some((p) => "containerPort" in p) ? "containerPort" : "port";
  }
  if (!mergeKey || !Array.isArray(current)) {
    if (patch.some((p) => isObject(p) && "$patch" in p)) {
      throw new ManifestError(`${where}: '$patch' in ${path}, a list that is replaced (it has no merge key)`);
    }
    return clone(patch);
  }
  const out = clone(current);
  for (const element of patch) {
    if (!isObject(element) || element[mergeKey] === undefined) {
      throw new ManifestError(`${where}: every element of ${path} needs its merge key '${mergeKey}'`);
    }
    const at = out.findIndex((e) => isObject(e) && e[mergeKey] === element[mergeKey]);
    if (element.$patch === "delete") {
      if (at < 0) {
        throw new ManifestError(`${where}: ${path} has no element with ${mergeKey} '${element[mergeKey]}' to delete`);
      }
      out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = strategicMerge(out[at], element, where, `${path}[${mergeKey}=${element[mergeKey]}]`);
    } else {
      out.push(strategicMerge({}, element, where, `${path}[${mergeKey}=${element[mergeKey]}]`));
    }
  }
  return out;
}

function pointer(path, where) {
  if (typeof path !== "string" || (path !== "" && !path.startsWith("/"))) {
    throw new ManifestError(`${where}: '${path}' is not a JSON pointer`);
  }
  return path === "" ? [] : path.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function walk(doc, tokens, where, op) {
  let parent = doc;
  for (const t of tokens.slice(0, -1)) {
    const next = Array.isArray(parent) ? parent[Number(t)] : isObject(parent) ? parent[t] : undefined;
    if (next === undefined) {
      throw new ManifestError(`${where}: ${op}: the path does not exist (at '${t}')`);
    }
    parent = next;
  }
  return parent;
}

/** RFC 6902 JSON Patch: add, remove, replace, move, copy, test. Paths that do not exist are errors. */
export function applyJson6902(obj, ops, where) {
  const doc = clone(obj);
  for (const [i, op] of ops.entries()) {
    const at = `${where}: op ${i} (${op?.op} ${op?.path})`;
    if (!isObject(op) || typeof op.op !== "string") {
      throw new ManifestError(`${at}: each operation is a mapping with 'op' and 'path'`);
    }
    const tokens = pointer(op.path, at);
    if (tokens.length === 0) {
      throw new ManifestError(`${at}: patching the whole object is not supported`);
    }
    const last = tokens[tokens.length - 1];
    const get = () => {
      const parent = walk(doc, tokens, at, op.op);
      const v = Array.isArray(parent) ? parent[Number(last)] : parent?.[last];
      if (v === undefined) {
        throw new ManifestError(`${at}: the path does not exist`);
      }
      return v;
    };
    const remove = (toks) => {
      const parent = walk(doc, toks, at, op.op);
      const l = toks[toks.length - 1];
      if (Array.isArray(parent)) {
        const n = Number(l);
        if (!Number.isInteger(n) || n < 0 || n >= parent.length) throw new ManifestError(`${at}: no element ${l}`);
        return parent.splice(n, 1)[0];
      }
      if (!isObject(parent) || !(l in parent)) throw new ManifestError(`${at}: the path does not exist`);
      const v = parent[l];
      delete parent[l];
      return v;
    };
    const add = (toks, value) => {
      const parent = walk(doc, toks, at, op.op);
      const l = toks[toks.length - 1];
      if (Array.isArray(parent)) {
        const n = l === "-" ? parent.length : Number(l);
        if (!Number.isInteger(n) || n < 0 || n > parent.length) throw new ManifestError(`${at}: index ${l} is out of range`);
        parent.splice(n, 0, clone(value));
      } else if (isObject(parent)) {
        parent[l] = clone(value);
      } else {
        throw new ManifestError(`${at}: the parent is not an object or a list`);
      }
    };
    switch (op.op) {
      case "add":
        if (!("value" in op)) throw new ManifestError(`${at}: 'value' is required`);
        add(tokens, op.value);
        break;
      case "remove":
        remove(tokens);
        break;
      case "replace":
        if (!("value" in op)) throw new ManifestError(`${at}: 'value' is required`);
        get();
        remove(tokens);
        add(tokens, op.value);
        break;
      case "move":
      case "copy": {
        const from = pointer(op.from, at);
        const fromParent = walk(doc, from, at, op.op);
        const value = Array.isArray(fromParent) ? fromParent[Number(from[from.length - 1])] : fromParent?.[from[from.length - 1]];
        if (value === undefined) throw new ManifestError(`${at}: 'from' does not exist`);
        if (op.op === "move") remove(from);
        add(tokens, value);
        break;
      }
      case "test":
        if (JSON.stringify(get()) !== JSON.stringify(op.value)) {
          throw new ManifestError(`${at}: test failed: the value is ${JSON.stringify(get())}`);
        }
        break;
      default:
        throw new ManifestError(`${at}: unknown operation '${op.op}'`);
    }
  }
  return doc;
}

function applyImage(objects, image, where) {
  if (!isObject(image) || typeof image.name !== "string") {
    throw new ManifestError(`${where}: needs 'name'`);
  }
  for (const key of Object.keys(image)) {
    if (!["name", "newName", "newTag", "digest"].includes(key)) {
      throw new ManifestError(`${where}: '${key}' is not supported (name, newName, newTag, digest)`);
    }
  }
  let used = false;
  for (const obj of objects) {
    const spec = obj.spec?.template?.spec ?? (obj.kind === "Pod" ? obj.spec : undefined);
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      if (typeof c.image !== "string") continue;
      const at = c.image.search(/[@]|:(?=[^/]*$)/);
      const name = at < 0 ? c.image : c.image.slice(0, at);
      if (name !== image.name) continue;
      const tag = at < 0 ? "" : c.image.slice(at);
      const newName = image.newName ?? name;
      c.image = image.digest ? `${newName}@${image.digest}` : image.newTag ? `${newName}:${image.newTag}` : `${newName}${tag}`;
      used = true;
    }
  }
  if (!used) {
    throw new ManifestError(`${where}: no container uses the image '${image.name}'`);
  }
}

/** The objects as one multi-document YAML text, as kustomize build prints them. */
export function toYaml(objects, header) {
  const body = objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
  return `${header}${body}`;
}
