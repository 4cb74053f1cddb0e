// Checks across objects that no schema expresses, each a mistake that applies cleanly and fails later:
// a probe on a port the container does not declare, a selector (Service, NetworkPolicy, PodMonitor) that
// selects no pod, a volume mount without its volume, a ConfigMap key that does not exist, a configuration file
// that is not JSON, a privileged container.

const WORKLOADS = new Set(["DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"]);

function podsOf(objects) {
  const pods = [];
  for (const o of objects) {
    if (WORKLOADS.has(o.kind) && o.spec?.template) {
      pods.push({ owner: o, namespace: o.metadata?.namespace, labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec ?? {} });
    } else if (o.kind === "Pod") {
      pods.push({ owner: o, namespace: o.metadata?.namespace, labels: o.metadata?.labels ?? {}, spec: o.spec ?? {} });
    }
  }
  return pods;
}

/** Label selector semantics: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
export function selects(selector, labels) {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case "In": if (!has || !(e.values ?? []).includes(labels[e.key])) return false; break;
      case "NotIn": if (has && (e.values ?? []).includes(labels[e.key])) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

function containersOf(spec) {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

function declaresPort(container, port) {
  return (container.ports ?? []).some((p) => (typeof port === "string" ? p.name === port : p.containerPort === port));
}

function podDeclaresPort(pod, port) {
  return containersOf(pod.spec).some((c) => declaresPort(c, port));
}

function name(o) {
  return `${o.kind}/${o.metadata?.name}`;
}

/** Problems as "Kind/name: message" strings. */
export function crossProblems(objects) {
  const problems = [];
  const add = (o, text) => problems.push(`${name(o)}: ${text}`);
  const pods = podsOf(objects);
  const seen = new Set();

  for (const o of objects) {
    const id = `${o.apiVersion} ${o.kind} ${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
    if (seen.has(id)) add(o, "defined twice");
    seen.add(id);
    if (o.kind !== "Namespace" && !o.metadata?.namespace) add(o, "has no namespace (set 'namespace' in the kustomization)");
  }

  const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));

  for (const pod of pods) {
    const o = pod.owner;
    if (WORKLOADS.has(o.kind) && o.spec.selector && !selects(o.spec.selector, pod.labels)) {
      add(o, "spec.selector does not select the pod template's labels");
    }
    const volumes = new Set((pod.spec.volumes ?? []).map((v) => v.name));
    for (const v of pod.spec.volumes ?? []) {
      if (v.configMap) {
        const cm = configMaps.get(`${pod.namespace}/${v.configMap.name}`);
        if (!cm && !v.configMap.optional) {
          add(o, `volume '${v.name}' uses ConfigMap '${v.configMap.name}', which is not defined`);
        }
        for (const item of v.configMap.items ?? []) {
          if (cm && !Object.hasOwn(cm.data ?? {}, item.key)) add(o, `volume '${v.name}': ConfigMap '${v.configMap.name}' has no key '${item.key}'`);
        }
      }
    }
    for (const c of containersOf(pod.spec)) {
      for (const probeName of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        const probe = c[probeName];
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
        if (port !== undefined && !declaresPort(c, port)) {
          add(o, `container '${c.name}': ${probeName} uses port ${JSON.stringify(port)}, which the container does not declare`);
        }
      }
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name)) add(o, `container '${c.name}': volumeMount '${m.name}' has no volume of that name`);
      }
      if (c.securityContext?.privileged === true) {
        add(o, `container '${c.name}': privileged containers are not allowed here (grant the capabilities it needs instead)`);
      }
      if (pod.spec.hostNetwork) {
        for (const p of c.ports ?? []) {
          if (p.hostPort !== undefined && p.hostPort !== p.containerPort) add(o, `container '${c.name}': with hostNetwork, hostPort ${p.hostPort} must equal containerPort ${p.containerPort}`);
        }
      }
    }
  }

  for (const o of objects) {
    const ns = o.metadata?.namespace;
    const inNs = pods.filter((p) => p.namespace === ns);
    if (o.kind === "Service" && o.spec?.selector) {
      const selected = inNs.filter((p) => selects({ matchLabels: o.spec.selector }, p.labels));
      if (selected.length === 0) add(o, "selects no pod");
      for (const port of o.spec.ports ?? []) {
        const target = port.targetPort ?? port.port;
        if (selected.length > 0 && !selected.some((p) => podDeclaresPort(p, target))) {
          add(o, `port '${port.name ?? port.port}': targetPort ${JSON.stringify(target)} is not declared by the selected pods`);
        }
      }
    }
    if (o.kind === "NetworkPolicy") {
      const selected = inNs.filter((p) => selects(o.spec?.podSelector, p.labels));
      if (selected.length === 0) add(o, "spec.podSelector selects no pod");
      for (const [i, rule] of (o.spec?.ingress ?? []).entries()) {
        for (const port of rule.ports ?? []) {
          if (port.port !== undefined && selected.length > 0 && !selected.some((p) => podDeclaresPort(p, port.port))) {
            add(o, `ingress[${i}]: port ${JSON.stringify(port.port)} is not declared by the selected pods`);
          }
        }
      }
      for (const [dir, rules] of [["ingress", o.spec?.ingress ?? []], ["egress", o.spec?.egress ?? []]]) {
        for (const [i, rule] of rules.entries()) {
          for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) {
            if (peer.podSelector && !peer.namespaceSelector && !inNs.some((p) => selects(peer.podSelector, p.labels))) {
              add(o, `${dir}[${i}]: a podSelector of this namespace selects no pod`);
            }
          }
        }
      }
    }
    if (o.kind === "PodMonitor") {
      const names = o.spec?.namespaceSelector?.any ? null : o.spec?.namespaceSelector?.matchNames ?? [ns];
      const selected = pods.filter((p) => (names === null || names.includes(p.namespace)) && selects(o.spec?.selector, p.labels));
      if (selected.length === 0) add(o, "spec.selector selects no pod");
      for (const [i, ep] of (o.spec?.podMetricsEndpoints ?? []).entries()) {
        if (ep.port !== undefined && selected.length > 0 && !selected.some((p) => podDeclaresPort(p, ep.port))) {
          add(o, `podMetricsEndpoints[${i}]: no selected pod declares a port named '${ep.port}'`);
        }
      }
    }
    if (o.kind === "ConfigMap") {
      for (const [key, text] of Object.entries(o.data ?? {})) {
        if (key.endsWith(".json")) {
          try {
            const parsed = JSON.parse(text);
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) add(o, `data '${key}' must hold a JSON object`);
          } catch (e) {
            add(o, `data '${key}' is not valid JSON: ${e.message}`);
          }
        }
      }
    }
  }
  return problems;
}
