using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Serving;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace DataPlane.Protocol.Tests.Serving;

public class MalformedMessagesTests
{
    private sealed class Clock : TimeProvider
    {
        public long Ticks { get; set; } = 1_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }

    private sealed class Lines : ILogger
    {
        public List<string> Logged { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Assert.Null(exception);
            lock (Logged)
            {
                Logged.Add(formatter(state, exception));
            }
        }
    }

    /// <summary>A received message's bytes, as Grpc.AspNetCore hands them to a marshaller.</summary>
    private sealed class Payload(byte[] bytes) : DeserializationContext
    {
        public override int PayloadLength => bytes.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])bytes.Clone();

        public override System.Buffers.ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(bytes);
    }

    [Fact]
    public void One_line_per_interval_with_the_count_of_the_others()
    {
        var clock = new Clock();
        var log = new Lines();
        var malformed = new MalformedMessages(log, clock, TimeSpan.FromSeconds(10));
        for (int i = 0; i < 1000; i++)
        {
            malformed.Report("/inference.GRPCInferenceService/ModelInfer", "Protocol message contained an invalid tag (zero).");
        }

        var first = Assert.Single(log.Logged);
        Assert.Contains("/inference.GRPCInferenceService/ModelInfer", first);
        Assert.Contains("invalid tag (zero)", first);
        Assert.Contains("0 more since the last such line", first);
        Assert.True(first.Length < 300, first);

        clock.Ticks += TimeSpan.FromSeconds(9.9).Ticks;
        malformed.Report("/inference.GRPCInferenceService/ModelInfer", "again");
        Assert.Single(log.Logged);

        clock.Ticks += TimeSpan.FromSeconds(0.2).Ticks;
        malformed.Report("/inference.GRPCInferenceService/ModelReady", "later");
        Assert.Equal(2, log.Logged.Count);
        Assert.Contains("1000 more since the last such line", log.Logged[1]);
        Assert.Equal(1002, malformed.Total);
    }

    [Fact]
    public void Reasons_are_cut_to_one_short_line()
    {
        string reason = MalformedMessages.Cut(new string('x', 5000) + "\nsecond line");
        Assert.Equal(MalformedMessages.MaxReason + 1, reason.Length);
        Assert.DoesNotContain('\n', MalformedMessages.Cut("a\nb"));
    }

    [Fact]
    public void Strict_marshaller_answers_invalid_argument_for_bytes_that_do_not_parse_and_passes_messages_that_do()
    {
        var log = new Lines();
        var malformed = new MalformedMessages(log, new Clock(), TimeSpan.FromSeconds(10));
        var generated = Marshallers.Create(m => m.ToByteArray(), ModelInferRequest.Parser.ParseFrom);
        var strict = StrictGrpcServices.Strict(generated, "/inference.GRPCInferenceService/ModelInfer", malformed);

        var good = new ModelInferRequest { ModelName = "simple", Id = "7" };
        Assert.Equal(good, strict.ContextualDeserializer(new Payload(good.ToByteArray())));
        Assert.Empty(log.Logged);

        var e = Assert.Throws<RpcException>(() => strict.ContextualDeserializer(new Payload([0x0A, 0xFF, 0xFF, 0xFF])));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("malformed ModelInferRequest: ", e.Status.Detail, StringComparison.Ordinal);
        Assert.True(e.Status.Detail.Length < 300, e.Status.Detail);
        Assert.Single(log.Logged);
        Assert.Equal(1, malformed.Total);
    }
}
