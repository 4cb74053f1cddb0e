using System.Net;
using DataPlane.Protocol.Health;
using DataPlane.Protocol.Inference;
using DataPlane.Simulation.Options;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DataPlane.Simulation.Tests.Infrastructure;

/// <summary>A simulated Triton in a real Kestrel server on 127.0.0.1 (ephemeral port, HTTP/2
/// cleartext), with a Grpc.Net.Client channel to it. Dispose to stop both.</summary>
public sealed class SimulatedTritonServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SimulatedTritonServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Triton = app.Services.GetRequiredService<SimulatedTriton>();

        // As NVIDIA's clients do: INT32_MAX both ways.
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = int.MaxValue, MaxSendMessageSize = int.MaxValue });
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(Channel);
        Health = new Health.HealthClient(Channel);
    }

    /// <summary>The server's address, http://127.0.0.1:PORT.</summary>
    public Uri Address { get; }

    /// <summary>The served simulation (to read its options or take it "down").</summary>
    public SimulatedTriton Triton { get; }

    public GrpcChannel Channel { get; }

    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    /// <summary>The standard gRPC health service on the same channel.</summary>
    public Health.HealthClient Health { get; }

    /// <summary>Starts a server for <paramref name="options"/> (<see cref="SimulationOptions.Default"/> when null) on
    /// <paramref name="time"/> (the system clock when null).</summary>
    public static async Task<SimulatedTritonServer> StartAsync(SimulationOptions? options = null, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // No file watchers: tests start many servers.
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
            // Triton sets no minimum request-body rate; Kestrel's default (240 B/s after 5 s) reset a 200 MiB upload
            // while two busy loops starved this process of CPU.
            kestrel.Limits.MinRequestBodyDataRate = null;
        });
        // The global gRPC defaults (4 MiB) stay: the simulation sets its own limits for its service.
        builder.Services.AddGrpc();
        builder.Services.AddSimulatedTriton(options, time);
        var app = builder.Build();
        app.MapSimulatedTriton();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        string bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        int port = new Uri(bound).Port;
        return new SimulatedTritonServer(app, new Uri($"http://127.0.0.1:{port}"));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A class fixture: one server with the default model set for the tests of a class.</summary>
public sealed class DefaultServerFixture : IAsyncLifetime
{
    private SimulatedTritonServer? _server;

    public SimulatedTritonServer Server => _server ?? throw new InvalidOperationException("the server has not started");

    public GRPCInferenceService.GRPCInferenceServiceClient Client => Server.Client;

    public async Task InitializeAsync() => _server = await SimulatedTritonServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server != null)
        {
            await _server.DisposeAsync();
        }
    }
}
