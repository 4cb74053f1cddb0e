using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace DataPlane.Protocol.Serving;

/// <summary>Parses a message whose tensor bytes stay where they arrived: the message is parsed from its bytes without
/// the top-level occurrences of one <c>repeated bytes</c> field (<c>raw_input_contents</c>, <c>raw_output_contents</c>),
/// read as a chain of slices of the same array, and each occurrence is then added as a <see cref="ByteString"/> that
/// aliases the array (<see cref="UnsafeByteOperations.UnsafeWrap(ReadOnlyMemory{byte})"/>). The result equals what
/// the generated parser gives; only the copies of the tensor bytes are gone. Tensor bytes are never changed in place
/// (they are read, sliced and written out), so the aliases are safe; the array is an ordinary one the garbage
/// collector frees with the last message or slice that refers to it.</summary>
public static class AliasingParser
{
    /// <summary>Parses <paramref name="data"/> as <typeparamref name="T"/>, with the top-level length-delimited
    /// occurrences of field <paramref name="field"/> added to <paramref name="target"/> as aliases of
    /// <paramref name="data"/>. Bytes the scan cannot follow (a group at the top level, a truncated field) are parsed
    /// whole by the generated parser, so a malformed message throws the same
    /// <see cref="InvalidProtocolBufferException"/> it always did.</summary>
    public static T Parse<T>(MessageParser<T> parser, byte[] data, int field, Func<T, RepeatedField<ByteString>> target)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(target);
        var split = new Split();
        if (!TrySplit(data, field, ref split) || split.EntryCount == 0)
        {
            return parser.ParseFrom(data);
        }

        T message;
        try
        {
            message = parser.ParseFrom(Sequence(data, split));
        }
        catch (InvalidProtocolBufferException)
        {
            // The parser's own words about the whole message (positions included), as without the split.
            return parser.ParseFrom(data);
        }

        var entries = target(message);
        for (int i = 0; i < split.EntryCount; i++)
        {
            var (start, length) = split.Entries![i];
            entries.Add(UnsafeByteOperations.UnsafeWrap(data.AsMemory(start, length)));
        }

        return message;
    }

    /// <summary>Scans the top-level fields of <paramref name="data"/>: the contents of each length-delimited
    /// occurrence of <paramref name="field"/> go to the split's entries, everything else (tags included) to its
    /// runs, adjacent runs merged. False when the bytes are not a well-formed sequence of top-level fields this scan
    /// follows.</summary>
    internal static bool TrySplit(ReadOnlySpan<byte> data, int field, ref Split split)
    {
        int position = 0;
        int runStart = 0;
        while (position < data.Length)
        {
            int tagStart = position;
            if (!TryReadVarint(data, ref position, out ulong tag) || tag > uint.MaxValue || (tag >> 3) == 0)
            {
                return false;
            }

            switch ((WireFormat.WireType)(tag & 7))
            {
                case WireFormat.WireType.Varint:
                    if (!TryReadVarint(data, ref position, out _))
                    {
                        return false;
                    }

                    break;
                case WireFormat.WireType.Fixed64:
                    position += 8;
                    break;
                case WireFormat.WireType.Fixed32:
                    position += 4;
                    break;
                case WireFormat.WireType.LengthDelimited:
                    if (!TryReadVarint(data, ref position, out ulong length) || length > (ulong)(data.Length - position))
                    {
                        return false;
                    }

                    if ((int)(tag >> 3) == field)
                    {
                        split.AddRun(runStart, tagStart - runStart);
                        split.AddEntry(position, (int)length);
                        runStart = position + (int)length;
                    }

                    position += (int)length;
                    break;
                default:
                    return false; // groups (deprecated, never used by these messages) and invalid wire types
            }

            if (position > data.Length)
            {
                return false;
            }
        }

        split.AddRun(runStart, data.Length - runStart);
        return true;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64 && position < data.Length; shift += 7)
        {
            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private static ReadOnlySequence<byte> Sequence(byte[] data, in Split split)
    {
        if (split.RunCount == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var (start, length) = split.Runs![0];
        if (split.RunCount == 1)
        {
            return new ReadOnlySequence<byte>(data, start, length);
        }

        var first = new Segment(data.AsMemory(start, length), 0);
        var last = first;
        for (int i = 1; i < split.RunCount; i++)
        {
            (start, length) = split.Runs[i];
            last = last.Append(data.AsMemory(start, length));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Where the scan found the field's entries and the bytes around them (offset, length).</summary>
    internal struct Split
    {
        public (int Start, int Length)[]? Runs;
        public int RunCount;
        public (int Start, int Length)[]? Entries;
        public int EntryCount;

        public void AddRun(int start, int length)
        {
            if (length == 0)
            {
                return;
            }

            if (RunCount > 0 && Runs![RunCount - 1].Start + Runs[RunCount - 1].Length == start)
            {
                Runs[RunCount - 1].Length += length;
                return;
            }

            Add(ref Runs, ref RunCount, (start, length));
        }

        public void AddEntry(int start, int length) => Add(ref Entries, ref EntryCount, (start, length));

        private static void Add(ref (int, int)[]? items, ref int count, (int, int) item)
        {
            items ??= new (int, int)[4];
            if (count == items.Length)
            {
                Array.Resize(ref items, count * 2);
            }

            items[count++] = item;
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
