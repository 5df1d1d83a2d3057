namespace Condensa.Tokenization;

/// <summary>
/// Builds a <see cref="CheckpointTokenizer"/> from the tokenizer files of a Hugging Face checkpoint folder.
/// </summary>
/// <remarks>
/// Files are tried in this order:
/// <list type="number">
/// <item>tokenizer.json with a byte-level BPE model (Llama 3, Qwen2, GPT-2 style);</item>
/// <item>tokenizer.model: SentencePiece (Llama 2, Mistral, TinyLlama) or, when it is text, tiktoken;</item>
/// <item>vocab.json + merges.txt (GPT-2 style byte-level BPE);</item>
/// <item>a *.tiktoken file.</item>
/// </list>
/// A tokenizer.json converted from SentencePiece (BPE without ByteLevel, or Unigram) is passed over when
/// tokenizer.model is beside it, since that file is what the model was trained with.
/// BOS, EOS and PAD come from tokenizer_config.json, generation_config.json and config.json; every EOS id
/// any of them names ends generation. A folder whose tokenizer files live in another folder names it in
/// <see cref="SharedTokenizer.FileName"/>.
/// </remarks>
public static class TokenizerFactory
{
    /// <summary>Loads the tokenizer of the checkpoint folder <paramref name="dir"/>.</summary>
    /// <exception cref="TokenizerLoadException">No tokenizer file, a malformed one, or an unsupported model type.</exception>
    public static CheckpointTokenizer FromCheckpoint(string dir)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        if (!Directory.Exists(dir))
            throw new TokenizerLoadException($"{dir}: checkpoint folder not found.");
        var files = CheckpointFiles.Read(dir);
        LoadedModel model = LoadModel(dir, files);
        return Assemble(model, files);
    }

    private static LoadedModel LoadModel(string dir, CheckpointFiles files)
    {
        string tokenizerJson = SharedTokenizer.Find(dir, "tokenizer.json");
        string tokenizerModel = SharedTokenizer.Find(dir, "tokenizer.model");
        string vocabJson = SharedTokenizer.Find(dir, "vocab.json");
        string mergesTxt = SharedTokenizer.Find(dir, "merges.txt");
        bool hasModelFile = File.Exists(tokenizerModel);

        if (File.Exists(tokenizerJson) && BpeLoader.LoadTokenizerJson(tokenizerJson, files, hasModelFile) is { } fromJson)
            return fromJson;
        if (hasModelFile)
        {
            return TiktokenLoader.LooksLikeTiktoken(tokenizerModel)
                ? TiktokenLoader.Load(tokenizerModel, files)
                : SentencePieceLoader.Load(tokenizerModel, files);
        }
        if (File.Exists(vocabJson) || File.Exists(mergesTxt))
        {
            if (!File.Exists(vocabJson) || !File.Exists(mergesTxt))
                throw new TokenizerLoadException($"{dir}: vocab.json and merges.txt go together; only {(File.Exists(vocabJson) ? "vocab.json" : "merges.txt")} is there.");
            return BpeLoader.LoadVocabMerges(vocabJson, mergesTxt, files);
        }
        if (new[] { dir, SharedTokenizer.Folder(dir) }.OfType<string>().SelectMany(d => Directory.EnumerateFiles(d, "*.tiktoken"))
                .FirstOrDefault() is { } tiktoken)
            return TiktokenLoader.Load(tiktoken, files);
        throw new TokenizerLoadException(
            $"{dir}: no tokenizer file (looked for tokenizer.json, tokenizer.model, vocab.json + merges.txt, *.tiktoken).");
    }

    private static CheckpointTokenizer Assemble(LoadedModel model, CheckpointFiles files)
    {
        int? Resolve(string key)
        {
            if (files.TokenString(key) is not { } token)
                return null;
            return model.TokenToId(token) ?? throw new TokenizerLoadException(
                $"{Path.Combine(files.Directory, CheckpointFiles.TokenizerConfigFile)}: {key} '{token}' is not in the vocabulary.");
        }

        // BOS: tokenizer_config.json decides when it names the key (null means none: Qwen2), else the configs, else the model.
        int? bos = files.HasTokenizerConfigKey("bos_token")
            ? Resolve("bos_token")
            : files.IdsFromConfigs("bos_token_id") is [int configBos, ..] ? configBos : model.ModelBos;

        // EOS: every id generation_config.json (or config.json) lists, plus tokenizer_config.json's eos_token.
        var eos = new List<int>(files.IdsFromConfigs("eos_token_id"));
        if (Resolve("eos_token") is int tokenEos && !eos.Contains(tokenEos))
            eos.Add(tokenEos);
        if (eos.Count == 0 && model.ModelEos is int modelEos)
            eos.Add(modelEos);

        int? pad = files.HasTokenizerConfigKey("pad_token")
            ? Resolve("pad_token")
            : files.IdsFromConfigs("pad_token_id") is [int configPad, ..] ? configPad : null;

        bool addsBos = files.TokenizerFlag("add_bos_token") ?? model.AddsBosByDefault;
        foreach (int id in eos.Concat(bos is int b ? [b] : []).Concat(pad is int p ? [p] : []))
        {
            if (id < 0 || id >= model.Table.Count)
                throw new TokenizerLoadException($"{files.Directory}: special token id {id} is outside the vocabulary of {model.Table.Count} ids.");
        }
        return new CheckpointTokenizer(model.Inner, model.EncodeText, model.AddedTokens, model.Table,
                                       bos, eos, pad, addsBos, model.Format, model.Denormalize);
    }
}
