using System.Globalization;
using System.Net;
using System.Net.Sockets;
using DataPlane.Transfer.Abstractions;
using DataPlane.Transfer.Buffers;
using DataPlane.Transfer.Engine;
using DataPlane.Transfer.Tcp;
using Prometheus;

namespace DataPlane.Transfer.Tests;

/// <summary>Helpers shared by the tests.</summary>
internal static class TestSupport
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>A connected pair of loopback TCP sockets.</summary>
    public static async Task<(Socket Client, Socket Server)> SocketPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        return (client, await accept);
    }

    /// <summary>A registered buffer of <paramref name="length"/> bytes filled with <paramref name="seed"/>-derived bytes.</summary>
    public static RegisteredBuffer Region(ITransport transport, int length, RegionAccess access = RegionAccess.All, int seed = 0)
    {
        var memory = PinnedBuffer.Allocate(length);
        var span = memory.GetSpan();
        for (int i = 0; i < span.Length; i++)
        {
            span[i] = (byte)((i * 31) + seed);
        }

        return new OwningRegistration(transport.Register(memory, access), memory);
    }

    /// <summary>The value of a sample in the registry's text exposition (0 when absent).</summary>
    public static async Task<double> SampleAsync(CollectorRegistry registry, string name, params (string Label, string Value)[] labels)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        string text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        foreach (string line in text.Split('\n'))
        {
            if (!line.StartsWith(name + "{", StringComparison.Ordinal) && !line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                continue;
            }

            if (labels.All(l => line.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>Waits for <paramref name="task"/> with a generous limit so a bug shows as a failure, not a hang.</summary>
    public static async Task<T> Within<T>(this Task<T> task) => await task.WaitAsync(Patience);

    /// <summary>See <see cref="Within{T}(Task{T})"/>.</summary>
    public static async Task Within(this Task task) => await task.WaitAsync(Patience);

    /// <summary>A registration that also frees its memory (test convenience).</summary>
    private sealed class OwningRegistration(RegisteredBuffer inner, PinnedBuffer memory)
        : RegisteredBuffer(memory, inner.Access, inner.LocalKey, inner.RemoteKey)
    {
        public override TransportKind Kind => inner.Kind;

        protected override void Release()
        {
            inner.Dispose();
            Memory.Dispose();
        }
    }
}

/// <summary>Two TCP transports on loopback: a listening server with an exposed region and a connected client.</summary>
internal sealed class TcpPair : IAsyncDisposable
{
    private TcpPair(TcpTransport serverTransport, TcpTransport clientTransport, ITransferListener listener, RegisteredBuffer serverRegion,
        ITransferConnection client, ITransferConnection server, CollectorRegistry registry)
    {
        ServerTransport = serverTransport;
        ClientTransport = clientTransport;
        Listener = listener;
        ServerRegion = serverRegion;
        Client = client;
        Server = server;
        Registry = registry;
    }

    public TcpTransport ServerTransport { get; }

    public TcpTransport ClientTransport { get; }

    public ITransferListener Listener { get; }

    public RegisteredBuffer ServerRegion { get; }

    public ITransferConnection Client { get; }

    public ITransferConnection Server { get; }

    public CollectorRegistry Registry { get; }

    public static async Task<TcpPair> StartAsync(int regionBytes = 1 << 20, ConnectionSettings? client = null, ConnectionSettings? server = null)
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new TransferMetrics(registry);
        var serverTransport = new TcpTransport(metrics: metrics);
        var clientTransport = new TcpTransport(metrics: metrics);
        var region = TestSupport.Region(serverTransport, regionBytes, seed: 7);
        var listener = serverTransport.Listen(new IPEndPoint(IPAddress.Loopback, 0),
            (server ?? new ConnectionSettings()) with { LocalName = "server", ExposedRegion = region });
        var accept = listener.AcceptAsync().AsTask();
        var clientConnection = await clientTransport.ConnectAsync(listener.LocalEndPoint, (client ?? new ConnectionSettings()) with { LocalName = "client" }).Within();
        var serverConnection = await accept.Within();
        return new TcpPair(serverTransport, clientTransport, listener, region, clientConnection, serverConnection, registry);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        await Listener.DisposeAsync();
        ServerRegion.Dispose();
        await ClientTransport.DisposeAsync();
        await ServerTransport.DisposeAsync();
    }
}
