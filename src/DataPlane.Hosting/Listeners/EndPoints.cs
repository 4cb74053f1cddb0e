using System.Globalization;
using System.Net;
using DataPlane.Hosting.Configuration;

namespace DataPlane.Hosting.Listeners;

/// <summary>Parses "host:port" listen addresses: an IPv4 or IPv6 literal (IPv6 in brackets),
/// "*" or "0.0.0.0" for every interface, or "localhost". Port 0 picks a free port.</summary>
public static class EndPoints
{
    /// <summary>Splits "host:port" (IPv6 in brackets) without resolving the host; null when malformed.</summary>
    public static (string Host, int Port)? ParseHostPort(string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is 0 or > 65535)
        {
            return null;
        }

        string host = value[..colon].Trim('[', ']');
        return host.Length == 0 ? null : (host, port);
    }

    public static IPEndPoint? Parse(string value, string key, ConfigBinder binder)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            binder.Error(key, $"'{value}' is not host:port (e.g. 127.0.0.1:9001)");
            return null;
        }

        string host = value[..colon].Trim('[', ']');
        string portText = value[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            binder.Error(key, $"port '{portText}' is not a number from 0 to 65535");
            return null;
        }

        IPAddress? address = host switch
        {
            "*" or "0.0.0.0" => IPAddress.Any,
            "::" => IPAddress.IPv6Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(host, out var a) ? a : null,
        };
        if (address == null)
        {
            binder.Error(key, $"host '{host}' is not an IP address, '*' or 'localhost'");
            return null;
        }

        return new IPEndPoint(address, port);
    }
}
