using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Grpc.Core;

namespace DataPlane.Edge.Gpu;

/// <summary>An input tensor of a GPU request, with its raw little-endian contents.</summary>
public readonly record struct WireTensor(string Name, string Datatype, long[] Shape, byte[] Raw);

/// <summary>What the agent sends: a KServe v2 ModelInferRequest with raw inputs.</summary>
public sealed record GpuInferRequest(string Model, string Id, IReadOnlyList<WireTensor> Inputs);

/// <summary>What the agent reads from a ModelStreamInferResponse.</summary>
public sealed record GpuStreamResponse(string ErrorMessage, string Id, string Text, bool Final, long? HostUpstreamUs);

/// <summary>The protocol-buffers wire codec of the two KServe v2 messages the agent exchanges on
/// ModelStreamInfer (ModelInferRequest out, ModelStreamInferResponse in), written against the
/// field numbers of our inference.proto. The agent uses it instead of the generated message types so
/// that its Pi binary carries no protobuf reflection (descriptors, JSON formatting and the regular
/// expression engine they pull in). The tests check both directions against the generated types.
/// Unknown fields are skipped, as protobuf requires.</summary>
public static class StreamInferCodec
{
    private const int WireVarint = 0, WireFixed64 = 1, LengthDelimited = 2, WireFixed32 = 5;

    /// <summary>inference.GRPCInferenceService/ModelStreamInfer with this codec.</summary>
    public static Method<GpuInferRequest, GpuStreamResponse> Method { get; } = new(
        MethodType.DuplexStreaming, "inference.GRPCInferenceService", "ModelStreamInfer",
        new Marshaller<GpuInferRequest>(static (request, context) => context.Complete(Encode(request)),
            static _ => throw new NotSupportedException("the agent never receives requests")),
        new Marshaller<GpuStreamResponse>(static (_, _) => throw new NotSupportedException("the agent never sends responses"), DecodeResponse));

    /// <summary>inference.GRPCInferenceService/ServerReady: an empty request; the response's field 1 is <c>ready</c>.</summary>
    public static Method<ServerReadiness, ServerReadiness> ServerReady { get; } = new(
        MethodType.Unary, "inference.GRPCInferenceService", "ServerReady",
        new Marshaller<ServerReadiness>(static (_, context) => context.Complete([]), static _ => throw new NotSupportedException("the agent never receives requests")),
        new Marshaller<ServerReadiness>(static (_, _) => throw new NotSupportedException("the agent never sends responses"),
            static context => DecodeServerReady(context.PayloadAsNewBuffer()) ? ServerReadiness.Ready : ServerReadiness.NotReady));

    /// <summary>inference.GRPCInferenceService/ModelReady: the request's field 1 is the model name; the response's field 1
    /// is <c>ready</c>. The balancer's probe: the daemon answers it with the model's load report in its trailers.</summary>
    public static Method<string, ServerReadiness> ModelReady { get; } = new(
        MethodType.Unary, "inference.GRPCInferenceService", "ModelReady",
        new Marshaller<string>(static (name, context) =>
        {
            var w = new ArrayBufferWriter<byte>(64);
            WriteString(w, 1, name);
            context.Complete(w.WrittenSpan.ToArray());
        }, static _ => throw new NotSupportedException("the agent never receives requests")),
        new Marshaller<ServerReadiness>(static (_, _) => throw new NotSupportedException("the agent never sends responses"),
            static context => DecodeServerReady(context.PayloadAsNewBuffer()) ? ServerReadiness.Ready : ServerReadiness.NotReady));

    public static bool DecodeServerReady(ReadOnlySpan<byte> message)
    {
        var r = new Reader(message);
        bool ready = false;
        while (r.Next(out int field, out int wire))
        {
            if (field == 1 && wire == WireVarint)
            {
                ready = r.Varint() != 0;
            }
            else
            {
                r.Skip(wire);
            }
        }

        return ready;
    }

    // --- encoding ModelInferRequest --------------------------------------------------------------

    public static byte[] Encode(GpuInferRequest request)
    {
        var w = new ArrayBufferWriter<byte>(256);
        WriteString(w, 1, request.Model);
        if (request.Id.Length > 0)
        {
            WriteString(w, 3, request.Id);
        }

        foreach (var input in request.Inputs)
        {
            var t = new ArrayBufferWriter<byte>(64);
            WriteString(t, 1, input.Name);
            WriteString(t, 2, input.Datatype);
            var shape = new ArrayBufferWriter<byte>(16);
            foreach (long d in input.Shape)
            {
                WriteVarint(shape, (ulong)d);
            }

            WriteBytes(t, 3, shape.WrittenSpan);
            WriteBytes(w, 5, t.WrittenSpan);
        }

        foreach (var input in request.Inputs)
        {
            WriteBytes(w, 7, input.Raw);
        }

        return w.WrittenSpan.ToArray();
    }

    private static void WriteTag(IBufferWriter<byte> w, int field, int wireType) => WriteVarint(w, (ulong)((field << 3) | wireType));

    private static void WriteVarint(IBufferWriter<byte> w, ulong value)
    {
        var span = w.GetSpan(10);
        int i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        w.Advance(i);
    }

    private static void WriteBytes(IBufferWriter<byte> w, int field, ReadOnlySpan<byte> bytes)
    {
        WriteTag(w, field, LengthDelimited);
        WriteVarint(w, (ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteString(IBufferWriter<byte> w, int field, string value) => WriteBytes(w, field, Encoding.UTF8.GetBytes(value));

    /// <summary>Raw contents of a BYTES tensor of one element: a 4-byte little-endian length, then the bytes.</summary>
    public static byte[] BytesElement(string value)
    {
        int n = Encoding.UTF8.GetByteCount(value);
        var b = new byte[4 + n];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)n);
        Encoding.UTF8.GetBytes(value, b.AsSpan(4));
        return b;
    }

    // --- decoding ModelStreamInferResponse ------------------------------------------------------

    public static GpuStreamResponse DecodeResponse(DeserializationContext context)
    {
        var sequence = context.PayloadAsReadOnlySequence();
        byte[]? rented = null;
        ReadOnlySpan<byte> span;
        if (sequence.IsSingleSegment)
        {
            span = sequence.FirstSpan;
        }
        else
        {
            rented = ArrayPool<byte>.Shared.Rent((int)sequence.Length);
            sequence.CopyTo(rented);
            span = rented.AsSpan(0, (int)sequence.Length);
        }

        try
        {
            return DecodeResponse(span);
        }
        finally
        {
            if (rented != null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public static GpuStreamResponse DecodeResponse(ReadOnlySpan<byte> message)
    {
        var r = new Reader(message);
        string error = "";
        var infer = new InferState();
        while (r.Next(out int field, out int wire))
        {
            if (field == 1 && wire == LengthDelimited)
            {
                error = Encoding.UTF8.GetString(r.Bytes());
            }
            else if (field == 2 && wire == LengthDelimited)
            {
                DecodeInferResponse(r.Bytes(), infer);
            }
            else
            {
                r.Skip(wire);
            }
        }

        string text = "";
        int index = infer.OutputNames.IndexOf("text_output");
        if (index >= 0)
        {
            if (index < infer.RawOutputs.Count)
            {
                text = BytesElementsText(infer.RawOutputs[index]);
            }
            else if (infer.TypedTexts.TryGetValue(index, out var typed))
            {
                text = typed;
            }
        }

        return new GpuStreamResponse(error, infer.Id, text, infer.Final, infer.HostUpstreamUs);
    }

    private sealed class InferState
    {
        public string Id = "";
        public bool Final;
        public long? HostUpstreamUs;
        public readonly List<string> OutputNames = [];
        public readonly List<byte[]> RawOutputs = [];
        public readonly Dictionary<int, string> TypedTexts = [];
    }

    private static void DecodeInferResponse(ReadOnlySpan<byte> message, InferState state)
    {
        var r = new Reader(message);
        while (r.Next(out int field, out int wire))
        {
            switch (field)
            {
                case 3 when wire == LengthDelimited:
                    state.Id = Encoding.UTF8.GetString(r.Bytes());
                    break;
                case 4 when wire == LengthDelimited:
                    DecodeParameter(r.Bytes(), state);
                    break;
                case 5 when wire == LengthDelimited:
                    DecodeOutput(r.Bytes(), state);
                    break;
                case 6 when wire == LengthDelimited:
                    state.RawOutputs.Add(r.Bytes().ToArray());
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
    }

    /// <summary>A map entry of <c>parameters</c>: key (1) and InferParameter value (2).</summary>
    private static void DecodeParameter(ReadOnlySpan<byte> entry, InferState state)
    {
        var r = new Reader(entry);
        string key = "";
        bool boolValue = false;
        long? intValue = null;
        while (r.Next(out int field, out int wire))
        {
            if (field == 1 && wire == LengthDelimited)
            {
                key = Encoding.UTF8.GetString(r.Bytes());
            }
            else if (field == 2 && wire == LengthDelimited)
            {
                var v = new Reader(r.Bytes());
                while (v.Next(out int pf, out int pw))
                {
                    if (pf == 1 && pw == WireVarint)
                    {
                        boolValue = v.Varint() != 0;
                    }
                    else if ((pf == 2 || pf == 5) && pw == WireVarint)
                    {
                        intValue = (long)v.Varint();
                    }
                    else
                    {
                        v.Skip(pw);
                    }
                }
            }
            else
            {
                r.Skip(wire);
            }
        }

        if (key == "triton_final_response")
        {
            state.Final = boolValue;
        }
        else if (key == "dataplane_upstream_first_response_us")
        {
            state.HostUpstreamUs = intValue;
        }
    }

    private static void DecodeOutput(ReadOnlySpan<byte> output, InferState state)
    {
        var r = new Reader(output);
        string name = "";
        StringBuilder? typed = null;
        while (r.Next(out int field, out int wire))
        {
            if (field == 1 && wire == LengthDelimited)
            {
                name = Encoding.UTF8.GetString(r.Bytes());
            }
            else if (field == 5 && wire == LengthDelimited)
            {
                var c = new Reader(r.Bytes());
                while (c.Next(out int cf, out int cw))
                {
                    if (cf == 8 && cw == LengthDelimited)
                    {
                        (typed ??= new StringBuilder()).Append(Encoding.UTF8.GetString(c.Bytes()));
                    }
                    else
                    {
                        c.Skip(cw);
                    }
                }
            }
            else
            {
                r.Skip(wire);
            }
        }

        if (typed != null)
        {
            state.TypedTexts[state.OutputNames.Count] = typed.ToString();
        }

        state.OutputNames.Add(name);
    }

    /// <summary>The UTF-8 text of all elements of a raw BYTES tensor, concatenated.</summary>
    public static string BytesElementsText(ReadOnlySpan<byte> raw)
    {
        var sb = new StringBuilder();
        while (raw.Length >= 4)
        {
            int n = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(raw), (uint)(raw.Length - 4));
            sb.Append(Encoding.UTF8.GetString(raw.Slice(4, n)));
            raw = raw[(4 + n)..];
        }

        return sb.ToString();
    }

    /// <summary>A forward-only reader of protobuf fields.</summary>
    private ref struct Reader
    {
        private ReadOnlySpan<byte> _data;

        public Reader(ReadOnlySpan<byte> data) => _data = data;

        public bool Next(out int field, out int wire)
        {
            if (_data.IsEmpty)
            {
                field = wire = 0;
                return false;
            }

            ulong tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_data.IsEmpty)
                {
                    throw new InvalidDataException("truncated varint in a KServe response");
                }

                byte b = _data[0];
                _data = _data[1..];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("malformed varint in a KServe response");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            ulong n = Varint();
            if (n > (ulong)_data.Length)
            {
                throw new InvalidDataException($"a field of {n} bytes overruns a KServe response with {_data.Length} left");
            }

            var bytes = _data[..(int)n];
            _data = _data[(int)n..];
            return bytes;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case WireVarint:
                    Varint();
                    break;
                case WireFixed64:
                    Advance(8);
                    break;
                case LengthDelimited:
                    Bytes();
                    break;
                case WireFixed32:
                    Advance(4);
                    break;
                default:
                    throw new InvalidDataException($"unsupported wire type {wire} in a KServe response");
            }
        }

        private void Advance(int n)
        {
            if (_data.Length < n)
            {
                throw new InvalidDataException("truncated field in a KServe response");
            }

            _data = _data[n..];
        }
    }
}

/// <summary>A ServerReady request (empty) or answer.</summary>
public sealed class ServerReadiness
{
    private ServerReadiness(bool ready) => IsReady = ready;

    public static ServerReadiness Ready { get; } = new(true);

    public static ServerReadiness NotReady { get; } = new(false);

    public bool IsReady { get; }
}
