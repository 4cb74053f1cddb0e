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
        string reason = code switch
        {
            SocketError.AddressAlreadyInUse => "the address is already in use (another process, or another listener of this one, holds it)",
            SocketError.AccessDenied => "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
            SocketError.AddressNotAvailable => "this host has no such address",
            _ => new SocketException((int)code).Message,
        };
        return culprit is var (key, endpoint)
            ? new ConfigurationException($"{key}: cannot listen on {endpoint}: {reason}", exception)
            : new ConfigurationException($"cannot open a listener: {reason} ({exception.Message})", exception);
    }

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
