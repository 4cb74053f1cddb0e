using System.Diagnostics;
using System.Text.Json;

namespace DataPlane.Ops.Tests.Kubernetes;

/// <summary>deploy/kubernetes, checked offline: the validator (deploy/kubernetes/validate, run with node) renders the
/// base and every overlay as kustomize does, checks every object against the Kubernetes API schemas of the npm package
/// kubernetes-models and the PodMonitors against @kubernetes-models/prometheus-operator, applies the cross-object
/// rules (probe ports, selectors, volumes) and compares the committed rendered files. The negative cases prove that
/// each kind of mistake is caught; the others read the rendered objects and check what the design promises.</summary>
public class KubernetesManifestTests
{
    private static readonly string Root = RepoFiles.Root;
    private static readonly string Cli = Path.Combine(Root, "deploy/kubernetes/validate/cli.mjs");

    [Fact]
    public void Base_overlays_and_rendered_files_are_valid()
    {
        var (code, output) = Node("check");
        Assert.True(code == 0, $"the manifest check exited {code}:\n{output}");
        Assert.Contains("base: 14 objects valid", output);
        Assert.Contains("overlays/production: 14 objects valid", output);
        Assert.Contains("rendered/production.yaml up to date", output);
        Assert.Contains("overlays/simulation: 10 objects valid", output);
        Assert.Contains("rendered/simulation.yaml up to date", output);
        Assert.Contains("kubernetes manifests: all valid", output);
    }

    public static TheoryData<string, string, string, string, string> Mistakes => new()
    {
        // A misspelt field, which the API server would drop (or refuse with strict field validation).
        { "misspelt field", "base/gpu-host.yaml", "          readinessProbe:", "          readinesProbe:",
          "DaemonSet/dataplane: /spec/template/spec/containers/0/readinesProbe: unknown field" },
        // A number written as a string.
        { "wrong type", "base/agent.yaml", "containerPort: 9091", "containerPort: \"9091\"",
          "DaemonSet/dataplane-agent: /spec/template/spec/containers/0/ports/1/containerPort: must be integer" },
        // A field the prometheus-operator's PodMonitor schema does not have.
        { "PodMonitor field", "base/monitoring.yaml", "    - port: metrics", "    - portName: metrics",
          "PodMonitor/triton: /spec/podMetricsEndpoints/0/portName: unknown field" },
        // A probe on a port the container does not declare.
        { "probe port", "base/gpu-host.yaml", "path: /readyz\n              port: admin", "path: /readyz\n              port: metrics",
          "DaemonSet/dataplane: container 'dataplane': readinessProbe uses port \"metrics\", which the container does not declare" },
        // A NetworkPolicy whose selector matches no pod (a typo in a label value).
        { "policy selects nothing", "base/network-policies.yaml", "  name: triton\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: triton",
          "  name: triton\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: tritonserver",
          "NetworkPolicy/triton: spec.podSelector selects no pod" },
        // An overlay's patch that no longer matches anything in the base.
        { "patch targets nothing", "overlays/production/triton-gpus.yaml", "  name: triton", "  name: tritonserver",
          "overlays/production: overlays/production/triton-gpus.yaml: the patch targets nothing (DaemonSet/tritonserver)" },
        // A JSON 6902 patch whose guard no longer holds.
        { "JSON patch guard", "base/network-policies.yaml", "        - port: 9001", "        - port: 9002",
          "agent-egress.yaml on NetworkPolicy/dataplane-agent: op 0 (test /spec/egress/1/ports/0/port): test failed" },
        // The base changed and the rendered files were not regenerated.
        { "stale rendered file", "base/agent.yaml", "\"SloMs\": 1500", "\"SloMs\": 1200",
          "overlays/production: rendered/production.yaml differs from a fresh render of the overlay" },
        // A configuration file in a ConfigMap that is not JSON.
        { "broken configuration", "base/gpu-host.yaml", "\"Upstream\": { \"Address\": \"http://triton:8001\" },", "\"Upstream\": { \"Address\": http://triton:8001 },",
          "ConfigMap/dataplane-config: data 'dataplane.json' is not valid JSON" },
        // Broken YAML is named with its file and line.
        { "broken YAML", "base/triton.yaml", "        prometheus.io/port: \"8002\"", "       prometheus.io/port: \"8002\"",
          "base: base/triton.yaml:23: not valid YAML" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Validator_catches_a_real_mistake(string what, string file, string find, string replace, string expected)
    {
        string copy = CopyManifests();
        try
        {
            string path = Path.Combine(copy, file);
            string text = File.ReadAllText(path);
            int at = text.IndexOf(find, StringComparison.Ordinal);
            Assert.True(at >= 0 && text.IndexOf(find, at + 1, StringComparison.Ordinal) < 0, $"{what}: '{find}' must occur exactly once in {file}");
            File.WriteAllText(path, text.Replace(find, replace, StringComparison.Ordinal));

            var (code, output) = Node("check", "--root", copy);
            Assert.True(code == 1, $"{what}: the check exited {code}, expected 1:\n{output}");
            Assert.Contains(expected, output);
            Assert.DoesNotContain("all valid", output);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public void The_daemon_gets_the_host_network_three_capabilities_and_only_the_host_paths_tuning_uses()
    {
        using var doc = Objects("overlays/production");
        var pod = Find(doc, "DaemonSet", "dataplane").GetProperty("spec").GetProperty("template").GetProperty("spec");
        Assert.True(pod.GetProperty("hostNetwork").GetBoolean());
        Assert.Equal("ClusterFirstWithHostNet", pod.GetProperty("dnsPolicy").GetString());
        Assert.Equal("true", pod.GetProperty("nodeSelector").GetProperty("nvidia.com/gpu.present").GetString());

        var container = pod.GetProperty("containers")[0];
        var security = container.GetProperty("securityContext");
        Assert.False(security.TryGetProperty("privileged", out _));
        Assert.False(security.GetProperty("allowPrivilegeEscalation").GetBoolean());
        Assert.Equal(["ALL"], Strings(security.GetProperty("capabilities").GetProperty("drop")));
        Assert.Equal(["NET_ADMIN", "SYS_NICE", "IPC_LOCK"], Strings(security.GetProperty("capabilities").GetProperty("add")));

        var hostPaths = pod.GetProperty("volumes").EnumerateArray()
            .Where(v => v.TryGetProperty("hostPath", out _))
            .Select(v => v.GetProperty("hostPath").GetProperty("path").GetString()!)
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(["/etc/default", "/proc/interrupts", "/proc/irq", "/proc/sys", "/run/dataplane", "/sys"], hostPaths);
        var sys = container.GetProperty("volumeMounts").EnumerateArray().Single(m => m.GetProperty("mountPath").GetString() == "/host/sys");
        Assert.True(sys.GetProperty("readOnly").GetBoolean());

        // Probes on the admin listener, which binds the node's address (kubelet probes the pod IP, the node's here).
        Assert.Equal("/readyz", container.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("path").GetString());
        Assert.Equal("admin", container.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("port").GetString());
        Assert.Equal("/healthz", container.GetProperty("livenessProbe").GetProperty("httpGet").GetProperty("path").GetString());
        var env = container.GetProperty("env").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e);
        Assert.Equal("$(NODE_IP):9002", env["DATAPLANE_Listen__Admin"].GetProperty("value").GetString());
        Assert.Equal("status.hostIP", env["NODE_IP"].GetProperty("valueFrom").GetProperty("fieldRef").GetProperty("fieldPath").GetString());
        Assert.Equal(9002, container.GetProperty("ports").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "admin").GetProperty("containerPort").GetInt32());
    }

    [Fact]
    public void Agents_find_every_daemon_through_the_headless_service_and_the_daemon_finds_its_node_local_triton()
    {
        using var doc = Objects("overlays/production");
        var service = Find(doc, "Service", "dataplane-gpu");
        Assert.Equal("None", service.GetProperty("spec").GetProperty("clusterIP").GetString());
        string ns = service.GetProperty("metadata").GetProperty("namespace").GetString()!;
        int grpc = service.GetProperty("spec").GetProperty("ports").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "grpc").GetProperty("port").GetInt32();

        using var agent = JsonDocument.Parse(ConfigFile(doc, "dataplane-agent-config", "dataplane-agent.json"));
        var hosts = Strings(agent.RootElement.GetProperty("Gpu").GetProperty("Hosts"));
        Assert.Equal([$"dns:///dataplane-gpu.{ns}.svc.cluster.local:{grpc}"], hosts);

        var triton = Find(doc, "Service", "triton").GetProperty("spec");
        Assert.Equal("Local", triton.GetProperty("internalTrafficPolicy").GetString());
        using var daemon = JsonDocument.Parse(ConfigFile(doc, "dataplane-config", "dataplane.json"));
        int tritonGrpc = triton.GetProperty("ports")[0].GetProperty("port").GetInt32();
        Assert.Equal($"http://triton:{tritonGrpc}", daemon.RootElement.GetProperty("Upstream").GetProperty("Address").GetString());

        // Mutual TLS on both sides, from files of the mounted Secrets.
        Assert.Equal("/etc/dataplane/tls/ca.pem", daemon.RootElement.GetProperty("Listen").GetProperty("Tls").GetProperty("ClientCa").GetString());
        Assert.Equal("/etc/dataplane/tls/ca.pem", agent.RootElement.GetProperty("Gpu").GetProperty("Tls").GetProperty("Ca").GetString());
        Assert.True(daemon.RootElement.GetProperty("Tuning").GetProperty("ApplyAtStart").GetBoolean());
    }

    [Fact]
    public void Network_policies_deny_by_default_and_open_each_port_to_its_one_client()
    {
        using var doc = Objects("overlays/production");
        var deny = Find(doc, "NetworkPolicy", "default-deny").GetProperty("spec");
        Assert.Empty(deny.GetProperty("podSelector").EnumerateObject());
        Assert.Equal(["Ingress", "Egress"], Strings(deny.GetProperty("policyTypes")));

        // Port name -> the app.kubernetes.io/name of the pods (or "prometheus@monitoring") allowed in.
        Assert.Equal(
            ["admin<-prometheus@monitoring", "grpc<-dataplane-agent", "http<-dataplane-agent", "transfer<-dataplane"],
            IngressMatrix(Find(doc, "NetworkPolicy", "dataplane")));
        Assert.Equal(["metrics<-prometheus@monitoring"], IngressMatrix(Find(doc, "NetworkPolicy", "triton")));
        Assert.Equal(["admin<-prometheus@monitoring", "api<-anyone"], IngressMatrix(Find(doc, "NetworkPolicy", "dataplane-agent")));

        var egress = Find(doc, "NetworkPolicy", "dataplane-agent").GetProperty("spec").GetProperty("egress");
        Assert.Equal("10.0.0.0/24", egress[1].GetProperty("to")[0].GetProperty("ipBlock").GetProperty("cidr").GetString());
    }

    [Fact]
    public void The_simulation_overlay_runs_without_triton_gpus_or_pis()
    {
        using var doc = Objects("overlays/simulation");
        Assert.DoesNotContain(doc.RootElement.EnumerateArray(), o => o.GetProperty("metadata").GetProperty("name").GetString() == "triton");
        var daemon = Find(doc, "DaemonSet", "dataplane").GetProperty("spec").GetProperty("template").GetProperty("spec");
        Assert.False(daemon.TryGetProperty("nodeSelector", out _));
        var agent = Find(doc, "DaemonSet", "dataplane-agent").GetProperty("spec").GetProperty("template").GetProperty("spec");
        Assert.False(agent.TryGetProperty("nodeSelector", out _));
        Assert.Equal(["dataplane-agent"], agent.GetProperty("containers").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray());
        using var config = JsonDocument.Parse(ConfigFile(doc, "dataplane-config", "dataplane.json"));
        Assert.False(config.RootElement.TryGetProperty("Upstream", out _));
    }

    private static string[] IngressMatrix(JsonElement policy)
    {
        var rows = new List<string>();
        foreach (var rule in policy.GetProperty("spec").GetProperty("ingress").EnumerateArray())
        {
            var from = rule.TryGetProperty("from", out var peers)
                ? peers.EnumerateArray().Select(Peer).ToArray()
                : ["anyone"];
            foreach (var port in rule.GetProperty("ports").EnumerateArray())
            {
                rows.AddRange(from.Select(f => $"{port.GetProperty("port")}<-{f}"));
            }
        }

        rows.Sort(StringComparer.Ordinal);
        return rows.ToArray();
    }

    private static string Peer(JsonElement peer)
    {
        string name = peer.GetProperty("podSelector").GetProperty("matchLabels").GetProperty("app.kubernetes.io/name").GetString()!;
        return peer.TryGetProperty("namespaceSelector", out var ns)
            ? $"{name}@{ns.GetProperty("matchLabels").GetProperty("kubernetes.io/metadata.name").GetString()}"
            : name;
    }

    private static string ConfigFile(JsonDocument doc, string configMap, string key) =>
        Find(doc, "ConfigMap", configMap).GetProperty("data").GetProperty(key).GetString()!;

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static JsonElement Find(JsonDocument doc, string kind, string name) =>
        doc.RootElement.EnumerateArray().Single(o => o.GetProperty("kind").GetString() == kind && o.GetProperty("metadata").GetProperty("name").GetString() == name);

    private static JsonDocument Objects(string kustomization)
    {
        var (code, output) = Node("json", Path.Combine(Root, "deploy/kubernetes", kustomization));
        Assert.True(code == 0, $"rendering {kustomization} exited {code}:\n{output}");
        return JsonDocument.Parse(output);
    }

    /// <summary>A copy of base/, overlays/ and rendered/ to break on purpose (the validator's packages stay where
    /// they are).</summary>
    private static string CopyManifests()
    {
        string dir = Directory.CreateTempSubdirectory("dataplane-k8s-").FullName;
        foreach (string part in new[] { "base", "overlays", "rendered" })
        {
            string from = Path.Combine(Root, "deploy/kubernetes", part);
            foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                string to = Path.Combine(dir, part, Path.GetRelativePath(from, file));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(file, to);
            }
        }

        return dir;
    }

    private static (int Code, string Output) Node(params string[] args)
    {
        Assert.True(File.Exists(Path.Combine(Root, "deploy/kubernetes/validate/node_modules/kubernetes-models/package.json")),
            "the validator's npm packages are missing: run scripts/bootstrap.sh (it runs npm ci in deploy/kubernetes/validate)");
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Root,
        };
        psi.ArgumentList.Add(Cli);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"node could not be started ({e.Message}): scripts/bootstrap.sh installs it");
            throw;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"node {string.Join(' ', args)} did not finish within 2 minutes");
            }

            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }
}
