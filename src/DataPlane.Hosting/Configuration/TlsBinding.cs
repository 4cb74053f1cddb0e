using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DataPlane.Hosting.Listeners;

namespace DataPlane.Hosting.Configuration;

/// <summary>Reads a listener's TLS settings (<c>Certificate</c>, <c>Key</c>, optional <c>ClientCa</c>, all PEM files, and
/// optional <c>Crl</c>) under a key, checking that the files exist, can be read and load: a certificate, the private key
/// that matches it, a CA file with at least one certificate, and a revocation list that verifies against the client CA.
/// So a wrong file is a configuration error naming its key, not a failure when the listener starts.</summary>
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
        CheckCertificate(b, key + ":Certificate", cert, key + ":Key", privateKey);
        CheckCa(b, key + ":ClientCa", clientCa);
        if (crl.Length > 0)
        {
            if (clientCa.Length == 0)
            {
                b.Error(key + ":Crl", "needs ClientCa: it revokes client certificates issued by that CA");
            }
            else
            {
                CheckCrl(b, key + ":Crl", crl, clientCa);
            }
        }

        return new TlsOptions(cert, privateKey, clientCa.Length > 0 ? clientCa : null) { CrlPath = crl.Length > 0 ? crl : null };
    }

    /// <summary>Records an error unless <paramref name="crlPath"/> names a revocation list that loads and is signed by a
    /// CA in <paramref name="caPath"/> (nothing is recorded for a missing CA file: its own key reports that).</summary>
    public static void CheckCrl(ConfigBinder b, string crlKey, string crlPath, string caPath)
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
            return; // CheckCa reports a CA that does not load, under its own key.
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

    /// <summary>When both files exist: records an error on <paramref name="certificateKey"/> unless its file holds a PEM
    /// certificate, and on <paramref name="keyKey"/> unless its file holds the PEM private key of that certificate.</summary>
    public static void CheckCertificate(ConfigBinder b, string certificateKey, string certificatePath, string keyKey, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(b);
        if (certificatePath.Length == 0 || keyPath.Length == 0 || !File.Exists(certificatePath) || !File.Exists(keyPath))
        {
            return;
        }

        try
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            b.Error(certificateKey, $"file '{certificatePath}' cannot be read: {e.Message}");
            return;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            b.Error(certificateKey, $"file '{certificatePath}' holds no PEM certificate ({e.Message})");
            return;
        }

        try
        {
            using var pair = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            b.Error(keyKey, $"file '{keyPath}' cannot be read: {e.Message}");
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            b.Error(keyKey, KeyLoads(keyPath)
                ? $"the private key in '{keyPath}' does not match the certificate in '{certificatePath}' ({certificateKey})"
                : $"file '{keyPath}' holds no PEM private key (RSA or ECDSA, unencrypted)");
        }
    }

    /// <summary>True when the key file holds an RSA or ECDSA private key, whatever certificate it belongs to.</summary>
    private static bool KeyLoads(string keyPath)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        foreach (Func<AsymmetricAlgorithm> create in new Func<AsymmetricAlgorithm>[] { RSA.Create, ECDsa.Create })
        {
            using var key = create();
            try
            {
                key.ImportFromPem(pem);
                return true;
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                // Not this algorithm (or not a key at all).
            }
        }

        return false;
    }

    /// <summary>When <paramref name="path"/> names an existing file: records an error on <paramref name="key"/> unless
    /// it holds at least one PEM certificate.</summary>
    public static void CheckCa(ConfigBinder b, string key, string path)
    {
        ArgumentNullException.ThrowIfNull(b);
        if (path.Length == 0 || !File.Exists(path))
        {
            return;
        }

        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(path);
            if (roots.Count == 0)
            {
                b.Error(key, $"file '{path}' holds no PEM certificate");
            }

            foreach (var root in roots)
            {
                root.Dispose();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            b.Error(key, $"file '{path}' cannot be read: {e.Message}");
        }
        catch (CryptographicException e)
        {
            b.Error(key, $"file '{path}' holds no usable PEM certificate ({e.Message})");
        }
    }
}
