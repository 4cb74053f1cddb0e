using System.Security.Cryptography.X509Certificates;
using DataPlane.Hosting.Listeners;
using DataPlane.Transfer.Security;
using Microsoft.Extensions.Logging;

namespace DataPlane.Spillover;

/// <summary>The transfer engine's TLS material on disk, reloaded like the listeners' certificates: at most every
/// <see cref="CertificateReloader.CheckInterval"/> the files' modification times are compared and changed files are
/// read again; a file that fails to load (half-written during a rotation) keeps the previous one in use. Each new
/// handshake uses what is current, so re-issued certificates and a CA bundle that gains a new CA take effect without a
/// restart; connections already open keep their session.</summary>
internal sealed class TransferTlsFiles
{
    private readonly CertificateReloader _certificate;
    private readonly string _caPath;
    private readonly Lock _gate = new();
    private X509Certificate2Collection _ca;
    private DateTime _caStamp;
    private long _nextCheck;

    /// <summary>Loads the files now; a revocation list at <paramref name="crlPath"/> (optional) must verify against the
    /// CA bundle as it is at start.</summary>
    public TransferTlsFiles(string certificatePath, string keyPath, string caPath, string? crlPath = null, ILogger? logger = null)
    {
        _certificate = new CertificateReloader(certificatePath, keyPath);
        _caPath = caPath;
        _ca = PemFiles.LoadCa(caPath);
        Revocation = crlPath is null ? null : new RevocationListReloader(crlPath, _ca, "transfer", logger);
        _caStamp = File.GetLastWriteTimeUtc(caPath);
        _nextCheck = Environment.TickCount64 + (long)CertificateReloader.CheckInterval.TotalMilliseconds;
    }

    /// <summary>The revocation list peers' certificates are checked against, in both directions; null without one.</summary>
    public RevocationListReloader? Revocation { get; }

    /// <summary>The certificate in use (for the expiry metric).</summary>
    public CertificateReloader Certificate => _certificate;

    /// <summary>The CA bundle in use, re-read when the file changed.</summary>
    public X509Certificate2Collection Ca
    {
        get
        {
            if (Environment.TickCount64 >= Volatile.Read(ref _nextCheck))
            {
                RefreshCa();
            }

            return _ca;
        }
    }

    /// <summary>The engine's TLS settings over these files.</summary>
    public TransferSecurity Security(TransferSettings settings) => new(() => _certificate.Current, () => Ca)
    {
        AllowedPeers = settings.AllowedPeers,
        EncryptData = settings.Encryption == TransferEncryption.Tls,
        IsRevoked = Revocation is { } revocation ? revocation.Refuses : null,
    };

    private void RefreshCa()
    {
        lock (_gate)
        {
            _nextCheck = Environment.TickCount64 + (long)CertificateReloader.CheckInterval.TotalMilliseconds;
            var stamp = File.GetLastWriteTimeUtc(_caPath);
            if (stamp == _caStamp)
            {
                return;
            }

            try
            {
                _ca = PemFiles.LoadCa(_caPath);
                _caStamp = stamp;
            }
            catch (TransferSecurityException)
            {
                // Keep the previous bundle and retry at the next check.
            }
        }
    }
}
