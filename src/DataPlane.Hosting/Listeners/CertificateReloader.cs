using System.Security.Cryptography.X509Certificates;

namespace DataPlane.Hosting.Listeners;

/// <summary>Serves a PEM certificate and key from disk and picks up new files without a restart:
/// at most once per <see cref="CheckInterval"/> the files' modification times are compared and the
/// pair is reloaded when either changed. A pair that fails to load keeps the previous one in use.</summary>
public sealed class CertificateReloader
{
    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly Lock _gate = new();
    private X509Certificate2 _current;
    private DateTime _certStamp;
    private DateTime _keyStamp;
    private long _nextCheck;

    public CertificateReloader(string certPath, string keyPath)
    {
        _certPath = certPath;
        _keyPath = keyPath;
        _current = Load();
        _certStamp = File.GetLastWriteTimeUtc(certPath);
        _keyStamp = File.GetLastWriteTimeUtc(keyPath);
        _nextCheck = Environment.TickCount64 + (long)CheckInterval.TotalMilliseconds;
    }

    public static TimeSpan CheckInterval { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Times the pair was reloaded after start.</summary>
    public int Reloads { get; private set; }

    public X509Certificate2 Current
    {
        get
        {
            if (Environment.TickCount64 >= Volatile.Read(ref _nextCheck))
            {
                Refresh();
            }

            return _current;
        }
    }

    /// <summary>The end of the validity period of the certificate in use, in Unix seconds (checking the files first
    /// when they are due), for the certificate-expiry metrics.</summary>
    public long NotAfterUnixSeconds => new DateTimeOffset(Current.NotAfter.ToUniversalTime()).ToUnixTimeSeconds();

    /// <summary>Checks the files now (also called on the timer path).</summary>
    public void Refresh()
    {
        lock (_gate)
        {
            _nextCheck = Environment.TickCount64 + (long)CheckInterval.TotalMilliseconds;
            var certStamp = File.GetLastWriteTimeUtc(_certPath);
            var keyStamp = File.GetLastWriteTimeUtc(_keyPath);
            if (certStamp == _certStamp && keyStamp == _keyStamp)
            {
                return;
            }

            try
            {
                _current = Load();
                _certStamp = certStamp;
                _keyStamp = keyStamp;
                Reloads++;
            }
            catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                // Half-written files during a rotation: keep serving the previous pair and retry.
            }
        }
    }

    private X509Certificate2 Load()
    {
        using var pem = X509Certificate2.CreateFromPemFile(_certPath, _keyPath);
        // Re-import so the private key is usable by the TLS stack on every platform.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
