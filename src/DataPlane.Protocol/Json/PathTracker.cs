using System.Text;

namespace DataPlane.Protocol.Json;

/// <summary>The position of the reader in the document, kept as a stack of segments and only
/// turned into text for an error: fields as <c>a.b</c>, array elements as <c>[3]</c>, map
/// entries as <c>["key"]</c>.</summary>
internal sealed class PathTracker
{
    private readonly List<Segment> _segments = [];

    public void PushField(string name) => _segments.Add(new Segment(name, -1));

    public void PushIndex(int index) => _segments.Add(new Segment(null, index));

    public void PushKey(string key) => _segments.Add(new Segment(key, -2));

    public void Pop() => _segments.RemoveAt(_segments.Count - 1);

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var segment in _segments)
        {
            if (segment.Index == -1)
            {
                if (text.Length > 0)
                {
                    text.Append('.');
                }

                text.Append(segment.Text);
            }
            else if (segment.Index == -2)
            {
                text.Append("[\"").Append(segment.Text).Append("\"]");
            }
            else
            {
                text.Append('[').Append(segment.Index).Append(']');
            }
        }

        return text.ToString();
    }

    /// <summary>A field name (<see cref="Index"/> -1), a map key (-2) or an array index.</summary>
    private readonly record struct Segment(string? Text, int Index);
}
