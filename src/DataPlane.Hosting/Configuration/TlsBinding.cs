using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Hosting.Listeners;

namespace DataPlane.Hosting.Configuration;

/// <summary>Reads a listener's TLS settings (<c>Certificate</c>, <c>Key</c>, optional <c>ClientCa</c>, all PEM files, and
/// optional <c>Crl</c>) under a key, checking that the files exist and that a revocation list verifies against the
/// client CA.</summary>
public static class TlsBinding
{
    public static TlsOptions? Read(ConfigBinder b, string key)
    {
        string cert = b.String(key + ":Certificate", "");
        string privateKey = b.String(key + ":Key", "");
        string clientCa = b.String(key + ":ClientCa", "");
        string crl = b.String(key + ":Crl", "");
        if (cert.Length == 0 && privateKey.Length == 0)
        {
            if (clientCa.Length > 0)
            {
                b.Error(key + ":ClientCa", "needs Certificate and Key as well: client certificates are verified over TLS");
            }

            if (crl.Length > 0)
            {
                b.Error(key + ":Crl", "needs Certificate, Key and ClientCa as well: it revokes client certificates");
            }

            return null;
        }

        RequireFile(b, key + ":Certificate", cert, required: true);
        RequireFile(b, key + ":Key", privateKey, required: true);
        RequireFile(b, key + ":ClientCa", clientCa, required: false);
        if (crl.Length > 0)
        {
            if (clientCa.Length == 0)
            {
                b.Error(key + ":Crl", "needs ClientCa: it revokes client certificates issued by that CA");
            }
            else
            {
                CheckCrl(b, key + ":Crl", crl, key + ":ClientCa", clientCa);
            }
        }

        return new TlsOptions(cert, privateKey, clientCa.Length > 0 ? clientCa : null) { CrlPath = crl.Length > 0 ? crl : null };
    }

    /// <summary>Records an error unless <paramref name="crlPath"/> names a revocation list that loads and is signed by a
    /// CA in <paramref name="caPath"/> (nothing is recorded for a missing CA file: its own key reports that).</summary>
    public static void CheckCrl(ConfigBinder b, string crlKey, string crlPath, string caKey, string caPath)
    {
        ArgumentNullException.ThrowIfNull(b);
        RequireFile(b, crlKey, crlPath, required: false);
        if (!File.Exists(crlPath) || !File.Exists(caPath))
        {
            return;
        }

        X509Certificate2Collection ca;
        try
        {
            ca = ListenerSetup.LoadCa(caPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            b.Error(caKey, $"'{caPath}' is not a PEM CA certificate: {e.Message}");
            return;
        }

        try
        {
            _ = RevocationList.Load(crlPath, ca);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or FormatException)
        {
            b.Error(crlKey, $"'{crlPath}' {e.Message}");
        }
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
