using System.Buffers;

namespace DataPlane.Edge.Contract;

/// <summary>Reads a response body line by line as raw UTF-8, without decoding to strings: the line
/// handed out is a window on a pooled buffer, valid until the next call. Lines end at '\n'; a
/// trailing '\r' is dropped; a last line without '\n' is returned at the end of the stream. The
/// buffer grows for long lines up to a limit, beyond which the stream is refused as malformed
/// (a runtime does not send megabyte lines; a broken one must not exhaust the Pi's memory).</summary>
public sealed class Utf8LineReader : IDisposable
{
    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer;
    private int _start;
    private int _scanned;
    private int _end;
    private bool _endOfStream;

    public Utf8LineReader(Stream stream, int maxLineBytes, int initialBytes = 4096)
    {
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(initialBytes, maxLineBytes + 1));
    }

    /// <summary>The next line (without its terminator), or null at the end of the stream.</summary>
    /// <exception cref="InvalidDataException">A line is longer than the limit.</exception>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int newline = _buffer.AsSpan(_scanned, _end - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int lineEnd = _scanned + newline;
                var line = TrimCarriageReturn(_buffer.AsMemory(_start, lineEnd - _start));
                _start = _scanned = lineEnd + 1;
                return line;
            }

            _scanned = _end;
            if (_endOfStream)
            {
                if (_start == _end)
                {
                    return null;
                }

                var last = TrimCarriageReturn(_buffer.AsMemory(_start, _end - _start));
                _start = _scanned = _end;
                return last;
            }

            MakeRoom();
            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _endOfStream = true;
            }
            else
            {
                _end += read;
            }
        }
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _start = _scanned = _end = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ReadOnlyMemory<byte> TrimCarriageReturn(ReadOnlyMemory<byte> line) =>
        !line.IsEmpty && line.Span[^1] == (byte)'\r' ? line[..^1] : line;

    /// <summary>Moves the unfinished line to the front of the buffer, and grows the buffer when the
    /// line fills it.</summary>
    private void MakeRoom()
    {
        int pending = _end - _start;
        if (pending > _maxLineBytes)
        {
            throw new InvalidDataException($"a line is longer than {_maxLineBytes} bytes");
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
            _scanned -= _start;
            _start = 0;
            _end = pending;
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length > _maxLineBytes)
            {
                throw new InvalidDataException($"a line is longer than {_maxLineBytes} bytes");
            }

            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, _maxLineBytes + 1));
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
    }
}
