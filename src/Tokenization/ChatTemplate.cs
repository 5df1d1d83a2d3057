using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// A chat prompt format, implemented natively for the families Condensa exports, each equal to the Jinja
/// chat_template published with the family's instruct checkpoint (as rendered by transformers'
/// apply_chat_template): llama2, llama3, mistral (v0.3), chatml (Qwen2), qwen3 (Qwen3's reasoning-aware ChatML),
/// zephyr (TinyLlama), phi3 (Phi-3, Phi-3.5), phi4 (Phi-4-mini), gemma (Gemma 3; Gemma 2 without a system message).
/// </summary>
public abstract class ChatTemplate
{
    /// <summary>Names of the built-in templates.</summary>
    public static IReadOnlyList<string> Names { get; } = ["llama2", "llama3", "mistral", "chatml", "qwen3", "zephyr", "phi3", "phi4", "gemma"];

    private protected ChatTemplate(string name, string bosToken, string eosToken)
    {
        Name = name;
        BosToken = bosToken;
        EosToken = eosToken;
    }

    /// <summary>The template's name (one of <see cref="Names"/>).</summary>
    public string Name { get; }

    /// <summary>The BOS token text the template writes (empty where the family has none).</summary>
    public string BosToken { get; }

    /// <summary>The EOS token text the template writes after assistant turns.</summary>
    public string EosToken { get; }

    /// <summary>
    /// Creates a built-in template by name. BOS/EOS default to the family's published tokens. <paramref name="thinking"/>
    /// false turns reasoning off where the template has a switch for it (qwen3: the generation prompt gets an empty
    /// <c>&lt;think&gt;</c> block, as its <c>enable_thinking=False</c> writes); the other templates ignore it.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static ChatTemplate Create(string name, string? bosToken = null, string? eosToken = null, bool thinking = true)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "llama2" => new Llama2ChatTemplate(bosToken ?? "<s>", eosToken ?? "</s>"),
            "llama3" => new Llama3ChatTemplate(bosToken ?? "<|begin_of_text|>", eosToken ?? "<|eot_id|>"),
            "mistral" => new MistralChatTemplate(bosToken ?? "<s>", eosToken ?? "</s>"),
            "chatml" => new ChatMLChatTemplate(bosToken ?? "", eosToken ?? "<|im_end|>"),
            "qwen3" => new Qwen3ChatTemplate(bosToken ?? "", eosToken ?? "<|im_end|>", thinking),
            "zephyr" => new ZephyrChatTemplate(bosToken ?? "<s>", eosToken ?? "</s>"),
            "phi3" => new Phi3ChatTemplate(bosToken ?? "<s>", eosToken ?? "<|endoftext|>"),
            "phi4" => new Phi4ChatTemplate(bosToken ?? "<|endoftext|>", eosToken ?? "<|endoftext|>"),
            "gemma" => new GemmaChatTemplate(bosToken ?? "<bos>", eosToken ?? "<eos>"),
            _ => throw new ArgumentException($"Unknown chat template '{name}'; built-in: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>
    /// The template of a checkpoint folder: <paramref name="overrideName"/> when given; else the family that
    /// tokenizer_config.json's chat_template is recognised as; else the family of the architecture
    /// (<paramref name="architecture"/>, or config.json's architectures[0]). BOS/EOS texts come from
    /// tokenizer_config.json where it names them. <paramref name="thinking"/> as in <see cref="Create"/>; a checkpoint
    /// template without Qwen3's <c>enable_thinking</c> switch (Qwen3-2507 Instruct) ignores it, as transformers does.
    /// </summary>
    /// <exception cref="TokenizerLoadException">No template can be chosen, or a config file is malformed.</exception>
    public static ChatTemplate ForCheckpoint(string dir, string? architecture = null, string? overrideName = null, bool thinking = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        var files = CheckpointFiles.Read(dir);
        string? bos = files.HasTokenizerConfigKey("bos_token") ? files.TokenString("bos_token") ?? "" : null;
        string? eos = files.TokenString("eos_token");
        if (overrideName is not null)
            return Create(overrideName, bos, eos, thinking);
        string? source = files.ChatTemplateSource;
        string? name = source is not null ? Recognize(source) : null;
        if (name == "qwen3" && !source!.Contains("enable_thinking", StringComparison.Ordinal))
            thinking = true;
        // ChatML checkpoints differ in one thing the text shows: whether a conversation without a system message gets one
        if (name == "chatml" && !source!.Contains(ChatMLChatTemplate.DefaultSystemMessage, StringComparison.Ordinal))
            return new ChatMLChatTemplate(bos ?? "", eos ?? "<|im_end|>", defaultSystem: false);
        string? arch = architecture ?? files.Architecture;
        name ??= FromArchitecture(arch, files);
        return name is not null
            ? Create(name, bos, eos, thinking)
            : throw new TokenizerLoadException(
                $"{dir}: no chat template: tokenizer_config.json's chat_template is {(source is null ? "absent" : "not one of " + string.Join(", ", Names))} " +
                $"and architecture '{arch ?? "(none)"}' has no default; pass a template name ({string.Join(", ", Names)}).");
    }

    /// <summary>The built-in family a Jinja chat_template is written for, by its distinctive markers; null if none.</summary>
    public static string? Recognize(string jinjaTemplate)
    {
        ArgumentNullException.ThrowIfNull(jinjaTemplate);
        if (jinjaTemplate.Contains("<|start_header_id|>", StringComparison.Ordinal))
            return "llama3";
        if (jinjaTemplate.Contains("<|im_start|>", StringComparison.Ordinal))
            return jinjaTemplate.Contains("<think>", StringComparison.Ordinal) ? "qwen3" : "chatml";
        if (jinjaTemplate.Contains("<start_of_turn>", StringComparison.Ordinal))
            return "gemma";
        // Phi-4-mini writes any role as '<|' + role + '|>' straight before the content; Phi-3 names each role, then "\n"
        if (jinjaTemplate.Contains("<|end|>", StringComparison.Ordinal) &&
            jinjaTemplate.Replace(" ", "", StringComparison.Ordinal).Contains("'|>'+message['content']", StringComparison.Ordinal))
            return "phi4";
        if (jinjaTemplate.Contains("<|end|>", StringComparison.Ordinal) && jinjaTemplate.Contains("<|user|>", StringComparison.Ordinal))
            return "phi3";
        if (jinjaTemplate.Contains("<|user|>", StringComparison.Ordinal))
            return "zephyr";
        if (jinjaTemplate.Contains("<<SYS>>", StringComparison.Ordinal))
            return "llama2";
        if (jinjaTemplate.Contains("[INST]", StringComparison.Ordinal))
            return "mistral";
        return null;
    }

    private static string? FromArchitecture(string? architecture, CheckpointFiles files) => architecture switch
    {
        "Qwen2ForCausalLM" => "chatml",
        "Qwen3ForCausalLM" => "qwen3",
        "MistralForCausalLM" => "mistral",
        "Phi3ForCausalLM" => "phi3",
        "Gemma2ForCausalLM" or "Gemma3ForCausalLM" => "gemma",
        "LlamaForCausalLM" when files.AddedTokens().Any(t => t.Content == "<|start_header_id|>") => "llama3",
        "LlamaForCausalLM" => "llama2",
        _ => null,
    };

    /// <summary>The prompt text of a conversation; with <paramref name="addGenerationPrompt"/> it ends where the assistant's reply begins.</summary>
    /// <exception cref="ArgumentException">The roles do not fit the template (e.g. not alternating user/assistant).</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var sb = new StringBuilder();
        RenderCore(messages, addGenerationPrompt, sb);
        return sb.ToString();
    }

    /// <summary>
    /// The text to append for a new user turn when the model has already seen
    /// <c>Render(history, addGenerationPrompt: false)</c>: the prompt that asked for the last reply, then the
    /// reply as generated, up to and including the template's end-of-turn token (templates that trim
    /// content, llama2/llama3/mistral, need the reply without surrounding whitespace). Appending the result to that text equals
    /// <c>Render(history + newUser, addGenerationPrompt: true)</c>, so a REPL can extend its KV cache instead of
    /// prefilling the conversation again.
    /// </summary>
    /// <remarks>
    /// Impossible where the template rewrites earlier text when a turn is added: mistral puts the system message
    /// into the last user turn, so with a system message the earlier prompt changes; then this throws and
    /// <see cref="TryRenderContinuation"/> returns false. ChatML ends a turn with "&lt;|im_end|&gt;\n" and zephyr
    /// with "&lt;/s&gt;\n": a REPL that stops generating at the EOS token must feed that "\n" as well, since the
    /// continuation starts after it.
    /// </remarks>
    /// <exception cref="NotSupportedException">The template cannot continue this conversation by appending.</exception>
    public string RenderContinuation(IReadOnlyList<ChatMessage> history, ChatMessage newUser) =>
        TryRenderContinuation(history, newUser, out string suffix)
            ? suffix
            : throw new NotSupportedException(
                $"Chat template '{Name}' rewrites earlier text when a turn is added (mistral moves the system message " +
                "into the last user turn); render the whole conversation instead.");

    /// <summary>
    /// As <see cref="RenderContinuation"/>; false where the template rewrites earlier text: where the prompt the
    /// model saw before the last assistant reply, or the history itself, is not a prefix of the next render.
    /// </summary>
    public bool TryRenderContinuation(IReadOnlyList<ChatMessage> history, ChatMessage newUser, out string suffix)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(newUser);
        suffix = "";
        string previous = Render(history, addGenerationPrompt: false);
        if (history.Count > 0 && history[^1].Role == "assistant")
        {
            // The cache was filled from the prompt that asked for the last reply, then the reply itself.
            string asked = Render(history.Take(history.Count - 1).ToList(), addGenerationPrompt: true);
            if (!previous.StartsWith(asked, StringComparison.Ordinal))
                return false;
        }
        string full = Render([.. history, newUser], addGenerationPrompt: true);
        if (!full.StartsWith(previous, StringComparison.Ordinal))
            return false;
        suffix = full[previous.Length..];
        return true;
    }

    /// <summary>Writes the prompt of <paramref name="messages"/> into <paramref name="output"/>.</summary>
    private protected abstract void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output);

    /// <summary>Splits off a leading system message and checks that the rest alternates user/assistant, starting with user.</summary>
    private protected static (string? System, IReadOnlyList<ChatMessage> Turns) SplitSystem(IReadOnlyList<ChatMessage> messages, string template)
    {
        string? system = messages.Count > 0 && messages[0].Role == "system" ? messages[0].Content : null;
        var turns = system is null ? messages : messages.Skip(1).ToList();
        for (int i = 0; i < turns.Count; i++)
        {
            string expected = i % 2 == 0 ? "user" : "assistant";
            if (turns[i].Role != expected)
                throw new ArgumentException(
                    $"Chat template '{template}': after the optional system message roles must alternate user/assistant; message {i + (system is null ? 0 : 1)} is '{turns[i].Role}'.",
                    nameof(messages));
        }
        return (system, turns);
    }

    /// <summary>Python's str.strip() / Jinja's trim: removes leading and trailing whitespace.</summary>
    private protected static string Strip(string text) => text.Trim();
}
