using System.Text.Json.Nodes;
using DataPlane.Edge.Routing;
using Microsoft.Extensions.Configuration;

namespace DataPlane.Edge.Tests.Routing;

public class ConfigWriterTests
{
    [Fact]
    public void Setting_a_value_keeps_every_other_key_and_their_order()
    {
        using var folder = new TempFolder();
        string path = folder.File("appsettings.json");
        File.WriteAllText(path, """
            {
              "Logging": { "LogLevel": { "Default": "Information" } },
              "Routing": { "UncertaintyBand": 0.1, "Threshold": 0.5, "GpuOnlyModels": [ "llama-70b" ] },
              "Agent": { "Port": 8080, "Name": "pi-01", "Enabled": true, "Nothing": null }
            }
            """);

        ConfigWriter.SetValue(path, "Routing:Threshold", 0.1449);

        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(["Logging", "Routing", "Agent"], root.Select(p => p.Key));
        Assert.Equal("Information", (string?)root["Logging"]!["LogLevel"]!["Default"]);
        var routing = root["Routing"]!.AsObject();
        Assert.Equal(["UncertaintyBand", "Threshold", "GpuOnlyModels"], routing.Select(p => p.Key));
        Assert.Equal(0.1449, (double)routing["Threshold"]!);
        Assert.Equal(0.1, (double)routing["UncertaintyBand"]!);
        Assert.Equal("llama-70b", (string?)routing["GpuOnlyModels"]![0]);
        Assert.Equal(8080, (int)root["Agent"]!["Port"]!);
        Assert.True((bool)root["Agent"]!["Enabled"]!);
        Assert.True(root["Agent"]!.AsObject().ContainsKey("Nothing"));
    }

    [Fact]
    public void A_missing_file_and_its_sections_are_created()
    {
        using var folder = new TempFolder();
        string path = folder.File("new/config.json");
        ConfigWriter.SetValue(path, "Routing:Threshold", 0.42);
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal(0.42, (double)root["Routing"]!["Threshold"]!);
        Assert.EndsWith("\n", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_section_is_added_to_an_existing_file()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.json");
        File.WriteAllText(path, "{\"Agent\": {\"Port\": 1}}");
        ConfigWriter.SetValue(path, "Edge:Routing:Threshold", 0.3);
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal(1, (int)root["Agent"]!["Port"]!);
        Assert.Equal(0.3, (double)root["Edge"]!["Routing"]!["Threshold"]!);
    }

    [Fact]
    public void Existing_keys_match_ignoring_case_as_configuration_does()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.json");
        File.WriteAllText(path, "{\"routing\": {\"threshold\": 0.9, \"Band\": 0.2}}");
        ConfigWriter.SetValue(path, "Routing:Threshold", 0.25);
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(["routing"], root.Select(p => p.Key));
        Assert.Equal(0.25, (double)root["routing"]!["threshold"]!);
        Assert.Equal(2, root["routing"]!.AsObject().Count);
    }

    [Fact]
    public void The_written_value_reads_back_through_configuration()
    {
        using var folder = new TempFolder();
        string path = folder.File("appsettings.json");
        File.WriteAllText(path, "{\n  // comments are accepted on reading\n  \"Routing\": {\"Threshold\": 0.5,},\n}");
        ConfigWriter.SetValue(path, "Routing:Threshold", 0.123456789012345);
        var configuration = new ConfigurationBuilder().AddJsonFile(path).Build();
        Assert.Equal(0.123456789012345, configuration.GetValue<double>("Routing:Threshold"));
    }

    [Fact]
    public void Non_object_sections_and_bad_arguments_are_refused()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.json");
        File.WriteAllText(path, "{\"Routing\": 5}");
        var ex = Assert.Throws<InvalidDataException>(() => ConfigWriter.SetValue(path, "Routing:Threshold", 0.5));
        Assert.Contains("'Routing'", ex.Message, StringComparison.Ordinal);
        Assert.Equal("{\"Routing\": 5}", File.ReadAllText(path));

        File.WriteAllText(path, "[1]");
        Assert.Throws<InvalidDataException>(() => ConfigWriter.SetValue(path, "Routing:Threshold", 0.5));
        File.WriteAllText(path, "{ not json");
        Assert.Throws<InvalidDataException>(() => ConfigWriter.SetValue(path, "Routing:Threshold", 0.5));

        Assert.Equal("value", Assert.Throws<ArgumentOutOfRangeException>(() => ConfigWriter.SetValue(path, "A", double.PositiveInfinity)).ParamName);
        Assert.Equal("keyPath", Assert.Throws<ArgumentException>(() => ConfigWriter.SetValue(path, "Routing::Threshold", 0.5)).ParamName);
    }

    [Fact]
    public void An_empty_file_is_treated_as_an_empty_object()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.json");
        File.WriteAllText(path, "");
        ConfigWriter.SetValue(path, "Threshold", 1);
        Assert.Equal(1, (double)JsonNode.Parse(File.ReadAllText(path))!["Threshold"]!);
    }
}
