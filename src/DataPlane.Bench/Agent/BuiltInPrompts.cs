namespace DataPlane.Bench.Agent;

/// <summary>One prompt the bench sends, with its class: <c>short</c> or <c>long</c> for the built-in
/// mix; <c>local</c>, <c>gpu</c> or <c>unlabelled</c> (from the <c>gpu</c> label) for a prompt file.</summary>
public sealed record BenchPrompt(string Text, string Kind);

/// <summary>The prompts of a run and which one request <c>i</c> sends (<see cref="For"/>): the same
/// index always sends the same prompt, so the agent phase and the direct phase send the same prompts
/// at the same scheduled times.</summary>
public sealed class PromptSet
{
    private readonly BenchPrompt[] _short;
    private readonly BenchPrompt[] _long;
    private readonly BenchPrompt[] _file;
    private readonly double _shortShare;

    private PromptSet(BenchPrompt[] shortPrompts, BenchPrompt[] longPrompts, BenchPrompt[] file, double shortShare, string source)
    {
        _short = shortPrompts;
        _long = longPrompts;
        _file = file;
        _shortShare = shortShare;
        Source = source;
    }

    /// <summary>"built-in" or the prompt file's path.</summary>
    public string Source { get; }

    /// <summary>True for the built-in mix.</summary>
    public bool BuiltIn => _file.Length == 0;

    /// <summary>Share of short prompts (built-in mix), or null for a prompt file.</summary>
    public double? ShortShare => BuiltIn ? _shortShare : null;

    /// <summary>Every distinct prompt (for building request bodies once).</summary>
    public IEnumerable<BenchPrompt> All => BuiltIn ? _short.Concat(_long) : _file;

    /// <summary>The built-in mix: short prompts with share <paramref name="shortShare"/>, long ones
    /// otherwise, each class in an order shuffled by <paramref name="seed"/>.</summary>
    public static PromptSet BuiltInMix(double shortShare, int seed)
    {
        if (!(shortShare is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(shortShare), shortShare, "a share lies in [0, 1]");
        }

        var random = new Random(seed);
        var shortPrompts = BuiltInPrompts.Short.Select(p => new BenchPrompt(p, "short")).ToArray();
        var longPrompts = BuiltInPrompts.Long.Select(p => new BenchPrompt(p, "long")).ToArray();
        random.Shuffle(shortPrompts);
        random.Shuffle(longPrompts);
        return new PromptSet(shortPrompts, longPrompts, [], shortShare, "built-in");
    }

    /// <summary>Prompts from a file, sent in file order and cycled.</summary>
    /// <exception cref="ArgumentException">No prompts.</exception>
    public static PromptSet FromFile(IReadOnlyList<BenchPrompt> prompts, string source)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0)
        {
            throw new ArgumentException($"{source} holds no prompts", nameof(prompts));
        }

        return new PromptSet([], [], [.. prompts], 0, source);
    }

    /// <summary>The prompt of request <paramref name="index"/> (0, 1, …). Built-in mix: among the
    /// first n requests exactly ⌈n·share⌉ are short (rounding guarded against floating-point error),
    /// so any prefix of a run has the share to within one request; the k-th short (long) request sends
    /// the k-th short (long) prompt of the shuffled order, cycled.</summary>
    public BenchPrompt For(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (!BuiltIn)
        {
            return _file[index % _file.Length];
        }

        long shortBefore = ShortCount(index);
        bool isShort = ShortCount(index + 1) > shortBefore;
        return isShort
            ? _short[shortBefore % _short.Length]
            : _long[(index - shortBefore) % _long.Length];
    }

    /// <summary>Short prompts among the first <paramref name="n"/> requests of the built-in mix.</summary>
    public long ShortCount(long n) => (long)Math.Ceiling((n * _shortShare) - 1e-9);
}

/// <summary>The built-in prompts, written for this load generator: everyday requests a small local
/// model answers well, and long or complex ones (reasoning, code, long-form writing, pasted text to
/// translate or summarise, planning) that a router should send to the GPU pool.</summary>
public static class BuiltInPrompts
{
    /// <summary>Default share of short prompts in the mix.</summary>
    public const double DefaultShortShare = 0.7;

    /// <summary>Short everyday prompts.</summary>
    public static IReadOnlyList<string> Short { get; } =
    [
        "Hey, hope your day is going well!",
        "What's the capital of Spain?",
        "Does February have 29 days this year?",
        "Good morning! How are you today?",
        "What time zone is Tokyo in?",
        "Give me a synonym for happy.",
        "Is a tomato a fruit or a vegetable?",
        "How long should I soft-boil an egg for a runny yolk?",
        "What is 12 plus 30?",
        "Thanks for your help!",
        "Is it spelled accommodate or acommodate?",
        "What's the opposite of cold?",
        "Who wrote Romeo and Juliet?",
        "Are spiders insects?",
        "What colour do you get by mixing blue and yellow?",
        "Suggest a name for a grey cat.",
        "What's a good snack before a run?",
        "How long is a marathon?",
        "Is it affect or effect when I mean a result?",
        "What does RSVP stand for?",
        "Can dogs eat carrots?",
        "How many centimetres are in an inch?",
        "What's the weather usually like in Lisbon in May?",
        "Tell me a short joke.",
        "At what temperature does water boil?",
        "Which planet is closest to the sun?",
        "Name the three primary colours.",
        "How do you say thank you in Spanish?",
        "What day comes after Thursday?",
        "Is it rude to be five minutes late to a dinner party?",
        "What's a quick breakfast idea?",
        "How often should I water a cactus?",
        "What's the plural of mouse?",
        "Good night, talk tomorrow!",
        "What is a haiku?",
        "How many players does a football team have on the pitch?",
        "Recommend a board game for four people.",
        "Is 20 degrees Celsius warm or cold?",
        "Should I bring an umbrella if it's cloudy?",
        "What's another word for big?",
    ];

    /// <summary>Long or complex prompts.</summary>
    public static IReadOnlyList<string> Long { get; } =
    [
        "Prove that the square root of 2 is irrational, then explain step by step why the same argument works for the square root of any prime number.",
        "Write a Python function that parses a CSV file with quoted fields and embedded newlines, handles malformed rows gracefully, and include unit tests for the edge cases.",
        "Compare and contrast microservices and a modular monolith for a team of eight engineers building an online store: deployment, data consistency, testing, on-call load and cost. Give a recommendation with its trade offs.",
        "Derive the closed-form solution of ordinary least squares regression from the normal equations, and explain in detail when the matrix X^T X is not invertible and what to do about it.",
        "Write a 600-word short story about a lighthouse keeper who discovers that the ships she guides come from the future, with a twist ending and vivid sensory detail.",
        "Analyze the causes of the 2008 financial crisis, covering mortgage securitisation, leverage, rating agencies and regulation, and evaluate which policy responses were the most effective.",
        "Design a rate limiter for a distributed API gateway handling 50,000 requests per second across 12 regions; describe the algorithm, the data store, the failure modes and how you would test it.",
        "Debug this code and explain the race condition:\n```csharp\nstatic int counter;\nstatic void Work() { for (int i = 0; i < 1000; i++) counter++; }\n// two threads run Work(); the result is not always 2000\n```\nThen implement a fix without using a lock.",
        "Translate the following paragraph into formal German and then into Japanese, keeping the legal meaning intact: \"The tenant shall notify the landlord in writing of any defects within fourteen days of discovering them; failure to do so releases the landlord from liability for consequential damage.\"",
        "Explain in detail how public-key cryptography works, including the mathematics behind RSA key generation, why factoring large numbers is hard, and how digital signatures differ from encryption.",
        "Calculate the integral of x^2 * e^(-x) from 0 to infinity step by step using integration by parts, then verify the result with the gamma function.",
        "Write a detailed project proposal for a community solar programme in a town of 20,000 people, with a budget, a three-year timeline, the main risks, and how success would be measured.",
        "Implement a thread-safe LRU cache in C# with O(1) get and put, explain the data structures you chose, and analyze its behaviour under heavy contention.",
        "Summarise the following meeting notes into decisions, owners and deadlines:\nAlice: the Q3 launch moves to October 14 because the payment provider certification slipped.\nBob: marketing needs final screenshots by September 20; design will deliver them.\nCarla: support wants a two-week beta with 200 customers before launch; Bob agrees to recruit them.\nDan: the database migration must finish before the beta; he will schedule it for the weekend of September 7.",
        "Evaluate the pros and cons of nuclear power against offshore wind for a country aiming at net zero by 2040, considering cost per megawatt hour, build times, grid stability, waste and public acceptance.",
        "Write a SQL query that finds, for each customer, the longest streak of consecutive days with at least one order, then explain how the query works and how to index the tables for it.",
        "Create a 12-week training plan for a first marathon for someone who currently runs 15 km a week, with weekly mileage, long runs, recovery, nutrition and how to adjust after an injury.",
        "Prove by induction that the sum of the first n odd numbers is n squared, then give a geometric proof and compare the two approaches.",
        "Explain in detail how a transformer language model generates text: tokenisation, embeddings, self-attention, the KV cache, sampling, and why the first token takes longer than the following ones.",
        "Write an essay of about 800 words on whether remote work has improved or harmed productivity, weighing the kinds of evidence on both sides and ending with a balanced conclusion.",
        "Given a graph with 10,000 nodes and weighted edges, implement Dijkstra's algorithm with a binary heap in Rust, analyze its time complexity, and explain when A* would be the better choice.",
        "Analyze this quarterly data, compute the growth rates and margins, then explain what might be driving the trend: revenue Q1 4.2M, Q2 4.9M, Q3 5.1M, Q4 6.3M; costs Q1 3.1M, Q2 3.3M, Q3 3.9M, Q4 4.0M.",
        "Compare three approaches to state management in a large React application (Redux, React Query with context, and Zustand), with code examples and the trade offs for testing and performance.",
        "Plan a two-week trip through Japan for a family of four on a budget of 9,000 euros, with a day-by-day itinerary, rail passes, accommodation choices and a cost breakdown.",
    ];
}
