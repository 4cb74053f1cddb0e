using System.Text;
using DataPlane.Edge.Contract;

namespace DataPlane.Edge.Contract.Tests;

public sealed class Utf8LineReaderTests
{
    /// <summary>A stream handing out at most <c>chunk</c> bytes per read, as a slow socket would.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }

    private static async Task<List<string>> ReadAllAsync(string text, int chunk, int maxLine = 1 << 20, int initial = 4096)
    {
        using var reader = new Utf8LineReader(new TrickleStream(Encoding.UTF8.GetBytes(text), chunk), maxLine, initial);
        var lines = new List<string>();
        while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
        {
            lines.Add(Encoding.UTF8.GetString(line.Span));
        }

        return lines;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    public async Task Lines_split_across_reads_come_out_whole(int chunk)
    {
        var lines = await ReadAllAsync("data: {\"a\":1}\r\n\r\n: comment\nlast line without newline", chunk);

        Assert.Equal(["data: {\"a\":1}", "", ": comment", "last line without newline"], lines);
    }

    [Fact]
    public async Task Multibyte_text_and_lines_longer_than_the_first_buffer_survive()
    {
        string longLine = string.Concat(Enumerable.Repeat("héllo wörld ✓ ", 500));

        var lines = await ReadAllAsync(longLine + "\n" + "ünïcode\n", 7, initial: 16);

        Assert.Equal([longLine, "ünïcode"], lines);
    }

    [Fact]
    public async Task A_line_over_the_limit_is_refused()
    {
        await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(new string('x', 5000) + "\n", 512, maxLine: 1000, initial: 64));
    }

    [Fact]
    public async Task An_empty_stream_has_no_lines()
    {
        Assert.Empty(await ReadAllAsync("", 10));
    }
}
