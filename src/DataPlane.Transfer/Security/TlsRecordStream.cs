namespace DataPlane.Transfer.Security;

/// <summary>The socket under the TLS stack. During the handshake it hands over the bytes one TLS record at a time,
/// never a byte beyond the record it is in: with <c>Transfer:Encryption=none</c> the data that follows the
/// authenticated handshake is in clear on the same socket, and reading record by record leaves it in the socket for
/// the transport instead of inside the TLS stack's read-ahead buffer. Once TLS carries the data
/// (<see cref="Passthrough"/>), it may read ahead and gather the TLS stack's 16 KiB records into larger socket writes
/// until flushed (<see cref="Coalesce"/>), which saves most of the system calls of bulk transfers.</summary>
internal sealed class TlsRecordStream(Stream inner) : Stream
{
    private const int HeaderLength = 5;
    private const int BufferBytes = 64 << 10;

    private readonly byte[] _header = new byte[HeaderLength];
    private int _headerSeen;
    private int _bodyLeft;
    private byte[]? _readAhead;
    private int _readStart;
    private int _readEnd;
    private byte[]? _pending;
    private int _pendingBytes;

    /// <summary>Once set, reads go straight to the inner stream (TLS carries the data: read-ahead is fine).</summary>
    public bool Passthrough { get; set; }

    /// <summary>With <see cref="Passthrough"/>: read ahead, and keep written bytes until <see cref="FlushAsync(CancellationToken)"/>
    /// or 64 KiB of them. Whoever writes must flush when it has nothing more to send at once. One reader and one writer
    /// may use the stream at the same time (they use separate buffers).</summary>
    public bool Coalesce { get; set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty && _readStart < _readEnd)
        {
            // A zero-byte read waits for data; bytes read ahead are data already, so it must not wait on the socket.
            return 0;
        }

        if (Passthrough && Coalesce && !buffer.IsEmpty)
        {
            if (_readStart == _readEnd)
            {
                if (buffer.Length >= BufferBytes)
                {
                    return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                }

                _readAhead ??= new byte[BufferBytes];
                _readStart = 0;
                _readEnd = await inner.ReadAsync(_readAhead, cancellationToken).ConfigureAwait(false);
                if (_readEnd == 0)
                {
                    return 0;
                }
            }

            int copied = Math.Min(buffer.Length, _readEnd - _readStart);
            _readAhead.AsSpan(_readStart, copied).CopyTo(buffer.Span);
            _readStart += copied;
            return copied;
        }

        if (Passthrough || buffer.IsEmpty)
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        var window = buffer[..Math.Min(buffer.Length, Limit)];
        int n = await inner.ReadAsync(window, cancellationToken).ConfigureAwait(false);
        Account(window.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty && _readStart < _readEnd)
        {
            return 0;
        }

        if (Passthrough && Coalesce && !buffer.IsEmpty)
        {
            if (_readStart == _readEnd)
            {
                if (buffer.Length >= BufferBytes)
                {
                    return inner.Read(buffer);
                }

                _readAhead ??= new byte[BufferBytes];
                _readStart = 0;
                _readEnd = inner.Read(_readAhead);
                if (_readEnd == 0)
                {
                    return 0;
                }
            }

            int copied = Math.Min(buffer.Length, _readEnd - _readStart);
            _readAhead.AsSpan(_readStart, copied).CopyTo(buffer);
            _readStart += copied;
            return copied;
        }

        if (Passthrough || buffer.IsEmpty)
        {
            return inner.Read(buffer);
        }

        var window = buffer[..Math.Min(buffer.Length, Limit)];
        int n = inner.Read(window);
        Account(window[..n]);
        return n;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!(Passthrough && Coalesce))
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }

        _pending ??= new byte[BufferBytes];
        if (_pendingBytes + buffer.Length > BufferBytes)
        {
            await WritePendingAsync(cancellationToken).ConfigureAwait(false);
        }

        if (buffer.Length >= BufferBytes)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }

        buffer.Span.CopyTo(_pending.AsSpan(_pendingBytes));
        _pendingBytes += buffer.Length;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // Synchronous writes are not gathered: whatever is pending goes first, so the order holds.
        Flush();
        inner.Write(buffer);
    }

    public override void Flush()
    {
        if (_pendingBytes > 0)
        {
            inner.Write(_pending!, 0, _pendingBytes);
            _pendingBytes = 0;
        }

        inner.Flush();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await WritePendingAsync(cancellationToken).ConfigureAwait(false);
        await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async ValueTask WritePendingAsync(CancellationToken cancellationToken)
    {
        if (_pendingBytes > 0)
        {
            int n = _pendingBytes;
            _pendingBytes = 0;
            await inner.WriteAsync(_pending.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Bytes that may be read now without passing the end of the current record (its header first).</summary>
    private int Limit => _bodyLeft > 0 ? _bodyLeft : HeaderLength - _headerSeen;

    private void Account(ReadOnlySpan<byte> read)
    {
        if (_bodyLeft > 0)
        {
            _bodyLeft -= read.Length;
            return;
        }

        read.CopyTo(_header.AsSpan(_headerSeen));
        _headerSeen += read.Length;
        if (_headerSeen == HeaderLength)
        {
            // TLSPlaintext / TLSCiphertext: type (1), legacy version (2), length (2, big-endian).
            _bodyLeft = (_header[3] << 8) | _header[4];
            _headerSeen = 0;
        }
    }
}
