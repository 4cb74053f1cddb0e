using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;

namespace DataPlane.Batching.Frontend.Http;

/// <summary>The body of a request, consumed front to back in pieces (the JSON header, then each binary tensor), each
/// piece landing in a buffer of its own that the request then wraps without another copy. Buffers grow as bytes
/// arrive and are never sized by what the client announced, so a large <c>Content-Length</c> or
/// <c>binary_data_size</c> costs nothing until the bytes are really there.</summary>
internal abstract class RequestBody
{
    /// <summary>First buffer of a piece of unknown or large size (below the large-object heap's threshold); it doubles
    /// as more arrives, up to the piece's size.</summary>
    private const int InitialBuffer = 64 << 10;

    /// <summary>Bytes not yet consumed when the body's length is known (a <c>Content-Length</c>, or a body already
    /// decompressed); null for a chunked body.</summary>
    public abstract long? Remaining { get; }

    /// <summary>Reads the next <paramref name="count"/> bytes, or fewer when the body ends first.</summary>
    public abstract ValueTask<ReadOnlyMemory<byte>> ReadAsync(long count, CancellationToken cancellationToken);

    /// <summary>True when nothing is left.</summary>
    public abstract ValueTask<bool> AtEndAsync(CancellationToken cancellationToken);

    /// <summary>The body as it arrives on the connection; <paramref name="length"/> is its <c>Content-Length</c>.</summary>
    public static RequestBody FromPipe(PipeReader reader, long? length) => new PipeBody(reader, length);

    /// <summary>Inflates a gzip or zlib body (the container is detected, as Triton's inflate does) into memory, at most
    /// <paramref name="maxBytes"/> bytes; past that, Triton's <c>Decompressed data size exceeds</c> error. A body that
    /// is not valid compressed data fails with INVALID_ARGUMENT.</summary>
    public static async Task<RequestBody> DecompressAsync(Stream compressed, long maxBytes, CancellationToken cancellationToken)
    {
        var peek = new byte[2];
        int got = await compressed.ReadAtLeastAsync(peek, 2, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var source = new PrefixedStream(peek.AsMemory(0, got), compressed);
        Stream inflater = got == 2 && peek[0] == 0x1f && peek[1] == 0x8b
            ? new GZipStream(source, CompressionMode.Decompress)
            : new ZLibStream(source, CompressionMode.Decompress);
        await using (inflater.ConfigureAwait(false))
        {
            var buffer = new Growing(maxBytes + 1);
            try
            {
                while (buffer.Length <= maxBytes)
                {
                    var space = buffer.Space(64 << 10);
                    int n = await inflater.ReadAsync(space, cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    buffer.Advance(n);
                }
            }
            catch (InvalidDataException e)
            {
                throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.InvalidArgument,
                    $"failed to decompress the request body: {e.Message}"));
            }

            if (buffer.Length > maxBytes)
            {
                throw HttpLimits.DecompressedTooLarge(maxBytes);
            }

            return new MemoryBody(buffer.Memory);
        }
    }

    /// <summary>A buffer that doubles as bytes arrive, never past a cap.</summary>
    private sealed class Growing(long cap)
    {
        private byte[] _array = [];

        public int Length { get; private set; }

        public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

        /// <summary>At least one byte (and up to <paramref name="want"/>) of free space, growing the buffer when full.</summary>
        public Memory<byte> Space(long want)
        {
            if (Length == _array.Length)
            {
                long grown = Math.Min(cap, Math.Max(InitialBuffer, (long)_array.Length * 2));
                grown = Math.Min(grown, Array.MaxLength);
                if (grown <= Length)
                {
                    throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.InvalidArgument,
                        $"a request piece of more than {Length} bytes cannot be held in one buffer"));
                }

                Array.Resize(ref _array, (int)grown);
            }

            return _array.AsMemory(Length, (int)Math.Min(want, _array.Length - Length));
        }

        public void Advance(int count) => Length += count;
    }

    private sealed class PipeBody(PipeReader reader, long? length) : RequestBody
    {
        private long _consumed;

        public override long? Remaining => length - _consumed;

        public override async ValueTask<ReadOnlyMemory<byte>> ReadAsync(long count, CancellationToken cancellationToken)
        {
            if (count <= 0)
            {
                return ReadOnlyMemory<byte>.Empty;
            }

            var buffer = new Growing(count);
            while (buffer.Length < count)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var sequence = result.Buffer;
                long take = Math.Min(sequence.Length, count - buffer.Length);
                long copied = 0;
                while (copied < take)
                {
                    var space = buffer.Space(take - copied);
                    sequence.Slice(copied, space.Length).CopyTo(space.Span);
                    buffer.Advance(space.Length);
                    copied += space.Length;
                }

                reader.AdvanceTo(sequence.GetPosition(take));
                _consumed += take;
                if (result.IsCompleted && take == sequence.Length)
                {
                    break;
                }
            }

            return buffer.Memory;
        }

        public override async ValueTask<bool> AtEndAsync(CancellationToken cancellationToken)
        {
            if (Remaining is long left)
            {
                return left <= 0;
            }

            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                bool empty = result.Buffer.IsEmpty;
                reader.AdvanceTo(result.Buffer.Start);
                if (!empty || result.IsCompleted)
                {
                    return empty;
                }
            }
        }
    }

    private sealed class MemoryBody(ReadOnlyMemory<byte> body) : RequestBody
    {
        private int _position;

        public override long? Remaining => body.Length - _position;

        public override ValueTask<ReadOnlyMemory<byte>> ReadAsync(long count, CancellationToken cancellationToken)
        {
            int take = (int)Math.Min(count, body.Length - _position);
            var slice = body.Slice(_position, take);
            _position += take;
            return ValueTask.FromResult(slice);
        }

        public override ValueTask<bool> AtEndAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_position >= body.Length);
    }

    /// <summary>Bytes already read from a stream, then the rest of the stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_prefix.IsEmpty)
            {
                int n = Math.Min(buffer.Length, _prefix.Length);
                _prefix[..n].CopyTo(buffer);
                _prefix = _prefix[n..];
                return n;
            }

            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous reads are not allowed");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
