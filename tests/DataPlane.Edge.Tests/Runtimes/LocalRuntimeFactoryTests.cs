using DataPlane.Edge.Runtimes;

namespace DataPlane.Edge.Tests.Runtimes;

public sealed class LocalRuntimeFactoryTests : IDisposable
{
    private readonly HttpClient _http = new();

    public void Dispose() => _http.Dispose();

    [Theory]
    [InlineData("llama.cpp", typeof(LlamaCppRuntime), "llama.cpp", true)]
    [InlineData("LLAMA.CPP", typeof(LlamaCppRuntime), "llama.cpp", true)]
    [InlineData("ollama", typeof(OllamaRuntime), "ollama", true)]
    [InlineData("Ollama", typeof(OllamaRuntime), "ollama", true)]
    [InlineData("hailo-ollama", typeof(HailoOllamaRuntime), "hailo-ollama", false)]
    [InlineData("Hailo-Ollama", typeof(HailoOllamaRuntime), "hailo-ollama", false)]
    [InlineData("simulated", typeof(LlamaCppRuntime), "simulated", true)]
    [InlineData(" Simulated ", typeof(LlamaCppRuntime), "simulated", true)]
    public void Create_makes_the_adapter_of_the_kind(string kind, Type type, string name, bool logprobs)
    {
        var url = new Uri("http://127.0.0.1:9999/");

        var runtime = LocalRuntimeFactory.Create(kind, url, "m", _http, TimeSpan.FromSeconds(5));

        Assert.IsType(type, runtime);
        Assert.Equal(name, runtime.Name);
        Assert.Equal(logprobs, runtime.ProvidesLogprobs);
        Assert.Equal(url, runtime.BaseAddress);
        Assert.Equal("m", runtime.Model);
        Assert.Equal(TimeSpan.FromSeconds(5), runtime.RequestTimeout);
    }

    [Theory]
    [InlineData("llama.cpp", 8080)]
    [InlineData("ollama", 11434)]
    [InlineData("hailo-ollama", 8000)]
    public void Without_a_url_the_kind_s_default_address_is_used(string kind, int port)
    {
        var runtime = LocalRuntimeFactory.Create(kind, null, "m", _http, TimeSpan.FromSeconds(5));

        Assert.Equal(new Uri($"http://127.0.0.1:{port}/"), runtime.BaseAddress);
    }

    [Fact]
    public void The_simulated_kind_needs_a_url()
    {
        Assert.Throws<ArgumentException>(() => LocalRuntimeFactory.Create("simulated", null, "m", _http, TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData("vllm")]
    [InlineData("")]
    [InlineData("llamacpp2")]
    public void An_unknown_kind_throws_naming_it(string kind)
    {
        var e = Assert.Throws<ArgumentException>(() => LocalRuntimeFactory.Create(kind, null, "m", _http, TimeSpan.FromSeconds(5)));

        Assert.Contains($"'{kind}'", e.Message, StringComparison.Ordinal);
        Assert.Equal("kind", e.ParamName);
    }

    [Fact]
    public void A_base_address_without_a_trailing_slash_gets_one()
    {
        var runtime = LocalRuntimeFactory.Create("ollama", new Uri("http://pi.local:11434/ollama"), "m", _http, TimeSpan.FromSeconds(5));

        Assert.Equal(new Uri("http://pi.local:11434/ollama/"), runtime.BaseAddress);
    }
}
