using System.Net;
using System.Net.Sockets;
using DataPlane.Hosting.Configuration;
using Microsoft.AspNetCore.Connections;

namespace DataPlane.Hosting.Listeners;

/// <summary>Turns a failure to open a listening socket at start (Kestrel's <see cref="IOException"/> for an address in
/// use, or a <see cref="SocketException"/> such as permission denied or an address this host does not have) into a
/// <see cref="ConfigurationException"/> naming the configuration key of the listener, its address and the reason.</summary>
public static class ListenFailure
{
    /// <summary>Tries each listener's address now, as Kestrel will bind it, and throws a <see cref="ConfigurationException"/>
    /// naming every one that cannot be opened: checked before anything starts, so a busy port is one line on stderr
    /// rather than a failed start. (A port taken between this check and the real bind is still reported, through
    /// <see cref="Describe"/>.)</summary>
    public static void Check(IReadOnlyList<(string Key, IPEndPoint EndPoint)> listeners)
    {
        ArgumentNullException.ThrowIfNull(listeners);
        var errors = new List<string>();
        foreach (var (key, endpoint) in listeners)
        {
            if (endpoint.Port == 0)
            {
                continue;
            }

            try
            {
                using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (endpoint.Address.Equals(IPAddress.IPv6Any))
                {
                    socket.DualMode = true;
                }

                socket.Bind(endpoint);
            }
            catch (SocketException e)
            {
                errors.Add($"{key}: cannot listen on {endpoint}: {Reason(e.SocketErrorCode)}");
            }
        }

        if (errors.Count > 0)
        {
            throw new ConfigurationException(errors);
        }
    }

    /// <summary>A configuration error for <paramref name="exception"/> when it is a bind failure of one of
    /// <paramref name="listeners"/> (configuration key and address); null for anything else.</summary>
    public static ConfigurationException? Describe(Exception exception, IReadOnlyList<(string Key, IPEndPoint EndPoint)> listeners)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(listeners);
        SocketError? error = null;
        for (var e = exception; e != null; e = e.InnerException)
        {
            if (e is AddressInUseException)
            {
                error = SocketError.AddressAlreadyInUse;
                break;
            }

            if (e is SocketException socket)
            {
                error = socket.SocketErrorCode;
                break;
            }
        }

        if (error is not { } code)
        {
            return null;
        }

        var culprit = FromMessage(exception.Message, listeners) ?? Probe(listeners, code);
        string reason = Reason(code);
        return culprit is var (key, endpoint)
            ? new ConfigurationException($"{key}: cannot listen on {endpoint}: {reason}", exception)
            : new ConfigurationException($"cannot open a listener: {reason} ({exception.Message})", exception);
    }

    private static string Reason(SocketError code) => code switch
    {
        SocketError.AddressAlreadyInUse => "the address is already in use (another process, or another listener of this one, holds it)",
        SocketError.AccessDenied => "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
        SocketError.AddressNotAvailable => "this host has no such address",
        _ => new SocketException((int)code).Message,
    };

    /// <summary>Kestrel names the address it failed on ("Failed to bind to address http://127.0.0.1:9001: …"); the
    /// configuration keeps listeners' addresses distinct, so at most one matches.</summary>
    private static (string Key, IPEndPoint EndPoint)? FromMessage(string message, IReadOnlyList<(string Key, IPEndPoint EndPoint)> listeners)
    {
        foreach (var listener in listeners)
        {
            if (listener.EndPoint.Port == 0)
            {
                continue;
            }

            string address = listener.EndPoint.ToString();
            int at = message.IndexOf(address, StringComparison.Ordinal);
            if (at >= 0 && (at + address.Length == message.Length || !char.IsAsciiDigit(message[at + address.Length])))
            {
                return listener;
            }
        }

        return null;
    }

    /// <summary>The first listener whose address cannot be bound now with the same error.</summary>
    private static (string Key, IPEndPoint EndPoint)? Probe(IReadOnlyList<(string Key, IPEndPoint EndPoint)> listeners, SocketError code)
    {
        foreach (var listener in listeners)
        {
            try
            {
                using var socket = new Socket(listener.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(listener.EndPoint);
            }
            catch (SocketException e) when (e.SocketErrorCode == code)
            {
                return listener;
            }
            catch (SocketException)
            {
            }
        }

        return null;
    }
}
