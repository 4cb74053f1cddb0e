using DataPlane.Hosting.Listeners;

namespace DataPlane.Hosting.Configuration;

/// <summary>Reads a listener's TLS settings (<c>Certificate</c>, <c>Key</c>, optional <c>ClientCa</c>,
/// all PEM files) under a key, checking that the files exist.</summary>
public static class TlsBinding
{
    public static TlsOptions? Read(ConfigBinder b, string key)
    {
        string cert = b.String(key + ":Certificate", "");
        string privateKey = b.String(key + ":Key", "");
        string clientCa = b.String(key + ":ClientCa", "");
        if (cert.Length == 0 && privateKey.Length == 0)
        {
            if (clientCa.Length > 0)
            {
                b.Error(key + ":ClientCa", "needs Certificate and Key as well: client certificates are verified over TLS");
            }

            return null;
        }

        RequireFile(b, key + ":Certificate", cert, required: true);
        RequireFile(b, key + ":Key", privateKey, required: true);
        RequireFile(b, key + ":ClientCa", clientCa, required: false);
        return new TlsOptions(cert, privateKey, clientCa.Length > 0 ? clientCa : null);
    }

    /// <summary>Records an error unless <paramref name="path"/> names an existing file (or is empty and optional).</summary>
    public static void RequireFile(ConfigBinder b, string key, string path, bool required)
    {
        if (path.Length == 0)
        {
            if (required)
            {
                b.Error(key, "is required when TLS is configured");
            }
        }
        else if (!File.Exists(path))
        {
            b.Error(key, $"file '{path}' does not exist");
        }
    }
}
