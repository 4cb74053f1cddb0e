using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using DataPlane.Edge.Runtimes.Simulation;
using DataPlane.Simulation.Llm;

namespace DataPlane.Testing;

/// <summary>Prompts the hybrid tests send, and what each simulated side answers to them.</summary>
public static class HybridPrompts
{
    /// <summary>Answered locally by the shipped classifier.</summary>
    public const string Short = "hi there, how are you?";

    /// <summary>Escalated by the shipped classifier.</summary>
    public const string Hard = "Prove that the sum of the first n odd numbers is n squared, step by step, and then write a Python function that verifies it for n up to 1000 with a detailed explanation.";

    /// <summary>The simulated Pi runtime's answer.</summary>
    public static string LocalText(string prompt, int maxTokens) =>
        string.Concat(SimulatedLocalModel.Tokens(prompt, maxTokens).Select(t => t.Text));

    /// <summary>The simulated Triton LLM's answer to a one-message chat (the agent's "simple" convention).</summary>
    public static string GpuText(string prompt, int maxTokens) => string.Concat(SimulatedLlm.Tokens($"user: {prompt}\nassistant:", maxTokens));
}

/// <summary>A throw-away PKI for the test: a CA, a server certificate for 127.0.0.1, a client
/// certificate from the CA, and one from a foreign CA, written as PEM files.</summary>
public sealed class Pki : IDisposable
{
    private readonly string _dir;

    private Pki(string dir) => _dir = dir;

    public string Ca => Path.Combine(_dir, "ca.pem");

    public string ServerCertificate => Path.Combine(_dir, "server.pem");

    public string ServerKey => Path.Combine(_dir, "server.key");

    public string ClientCertificate => Path.Combine(_dir, "client.pem");

    public string ClientKey => Path.Combine(_dir, "client.key");

    public string ForeignCertificate => Path.Combine(_dir, "foreign.pem");

    public string ForeignKey => Path.Combine(_dir, "foreign.key");

    public static Pki Create()
    {
        var pki = new Pki(Directory.CreateTempSubdirectory("dataplane-pki-").FullName);
        using var ca = CreateCa("DataPlane Test CA");
        using var foreignCa = CreateCa("Foreign CA");
        File.WriteAllText(pki.Ca, ca.ExportCertificatePem());
        Write(Issue(ca, "gpu-host", server: true), pki.ServerCertificate, pki.ServerKey);
        Write(Issue(ca, "pi-edge", server: false), pki.ClientCertificate, pki.ClientKey);
        Write(Issue(foreignCa, "intruder", server: false), pki.ForeignCertificate, pki.ForeignKey);
        return pki;
    }

    private static void Write(X509Certificate2 certificate, string certPath, string keyPath)
    {
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        certificate.Dispose();
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string name, bool server)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }

        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(12));
        return cert.CopyWithPrivateKey(key);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}

/// <summary>A parsed agent answer (JSON or SSE).</summary>
public sealed record Answer(int Status, string? PathHeader, string Text, JsonElement? Dataplane, List<string> Events, bool Replaced, string Raw)
{
    public string Path => Dataplane?.GetProperty("path").GetString() ?? "";

    public string AnsweredBy => Dataplane?.GetProperty("answered_by").GetString() ?? "";

    public string Reason => Dataplane?.GetProperty("reason").GetString() ?? "";

    public static async Task<Answer> ReadAsync(HttpResponseMessage response)
    {
        string raw = await response.Content.ReadAsStringAsync();
        string? header = response.Headers.TryGetValues("X-DataPlane-Path", out var h) ? h.First() : null;
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            if (!response.IsSuccessStatusCode)
            {
                return new Answer((int)response.StatusCode, header, "", null, [], false, raw);
            }

            using var doc = JsonDocument.Parse(raw);
            var root = doc.RootElement;
            var choice = root.GetProperty("choices")[0];
            string text = choice.TryGetProperty("message", out var m) ? m.GetProperty("content").GetString()! : choice.GetProperty("text").GetString()!;
            return new Answer((int)response.StatusCode, header, text, root.GetProperty("dataplane").Clone(), [], false, raw);
        }

        var sb = new StringBuilder();
        JsonElement? dataplane = null;
        var events = new List<string>();
        bool replaced = false;
        string? eventName = null;
        foreach (string line in raw.Split('\n'))
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line[7..];
                events.Add(eventName);
                continue;
            }

            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            string data = line[6..];
            if (data == "[DONE]")
            {
                events.Add("[DONE]");
                break;
            }

            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            if (eventName == "replace")
            {
                replaced = true;
                sb.Clear();
                eventName = null;
                continue;
            }

            if (root.TryGetProperty("error", out _))
            {
                events.Add("error");
                continue;
            }

            var choices = root.GetProperty("choices");
            if (choices.GetArrayLength() == 0)
            {
                events.Add("usage");
                continue;
            }

            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var content))
            {
                sb.Append(content.GetString());
            }
            else if (choice.TryGetProperty("text", out var text))
            {
                sb.Append(text.GetString());
            }

            if (root.TryGetProperty("dataplane", out var dp))
            {
                dataplane = dp.Clone();
            }

            events.Add("chunk");
        }

        return new Answer((int)response.StatusCode, header, sb.ToString(), dataplane, events, replaced, raw);
    }
}
