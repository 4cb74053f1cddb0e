namespace DataPlane.Topology.SelfTest;

/// <summary>A recorded tool output that cannot be read or does not have the tool's format. The message names the file
/// and, where there is one, the line: <c>topo.txt:4: GPU1 has 2 cells, the header names 3 devices</c>.</summary>
public sealed class ToolOutputException : Exception
{
    public ToolOutputException(string file, int? line, string problem)
        : base(line is int n ? $"{file}:{n}: {problem}" : $"{file}: {problem}")
    {
        File = file;
        Line = line;
    }

    public ToolOutputException(string message)
        : base(message)
    {
        File = "";
    }

    public ToolOutputException(string message, Exception inner)
        : base(message, inner)
    {
        File = "";
    }

    public ToolOutputException()
    {
        File = "";
    }

    /// <summary>The file as it was named on the command line.</summary>
    public string File { get; }

    /// <summary>The 1-based line of the problem, null when it concerns the whole file.</summary>
    public int? Line { get; }
}
