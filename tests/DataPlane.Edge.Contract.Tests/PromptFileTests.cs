using DataPlane.Edge.Contract;

namespace DataPlane.Edge.Contract.Tests;

public class PromptFileTests
{
    [Fact]
    public void Jsonl_is_read_skipping_blank_lines()
    {
        const string text = "{\"prompt\": \"hi\", \"gpu\": false}\n\n{\"prompt\": \"Prove it\", \"gpu\": true}\n   \n";
        var prompts = PromptFile.Read(new StringReader(text), "t.jsonl", requireLabels: true);
        Assert.Equal([new LabelledPrompt("hi", false), new LabelledPrompt("Prove it", true)], prompts);
    }

    [Theory]
    [InlineData("{\"prompt\": \"ok\", \"gpu\": false}\n\n{\"prompt\": \"broken\", \"gpu\": tru}", 3)]
    [InlineData("{\"prompt\": \"ok\", \"gpu\": false}\n{\"gpu\": true}", 2)]
    [InlineData("{\"prompt\": \"no label\"}", 1)]
    [InlineData("{\"prompt\": \"ok\", \"gpu\": \"yes\"}", 1)]
    [InlineData("[\"a\"]", 1)]
    public void Malformed_lines_are_reported_with_their_line_number(string text, int line)
    {
        var ex = Assert.Throws<InvalidDataException>(() => PromptFile.Read(new StringReader(text), "t.jsonl", requireLabels: true));
        Assert.StartsWith($"t.jsonl:{line}:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unlabelled_files_are_read_when_labels_are_not_required()
    {
        var prompts = PromptFile.Read(new StringReader("{\"prompt\": \"hi\"}"), "t.jsonl", requireLabels: false);
        Assert.Null(Assert.Single(prompts).Gpu);
    }
}
