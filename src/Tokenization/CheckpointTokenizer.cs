using System.Text;
using Microsoft.ML.Tokenizers;

namespace Condensa.Tokenization;

/// <summary>
/// A checkpoint's tokenizer: the Microsoft.ML.Tokenizers model that splits text, plus what the checkpoint
/// folder says around it (added and special tokens, BOS/EOS/PAD ids, whether a BOS is prepended).
/// Created by <see cref="TokenizerFactory.FromCheckpoint"/>. Encode and Decode keep no state between calls.
/// </summary>
public sealed class CheckpointTokenizer
{
    private readonly Func<string, bool, IEnumerable<int>> _encodeText;   // plain text -> ids; true where the text opens the input
    private readonly AddedTokenSplitter _addedTokens;
    private readonly TokenByteTable _table;
    private readonly bool _addsBos;
    private readonly Func<string, string>? _denormalize;                  // SentencePiece denormalizer spec, if any

    internal CheckpointTokenizer(
        Tokenizer inner,
        Func<string, bool, IEnumerable<int>> encodeText,
        IReadOnlyList<AddedToken> addedTokens,
        TokenByteTable table,
        int? bosTokenId,
        IReadOnlyList<int> eosTokenIds,
        int? padTokenId,
        bool addsBos,
        string format,
        Func<string, string>? denormalize = null)
    {
        Inner = inner;
        _encodeText = encodeText;
        _addedTokens = new AddedTokenSplitter(addedTokens);
        _table = table;
        BosTokenId = bosTokenId;
        EosTokenIds = eosTokenIds;
        PadTokenId = padTokenId;
        _addsBos = addsBos;
        Format = format;
        _denormalize = denormalize;
        AddedTokens = addedTokens.ToDictionary(t => t.Content, t => t.Id);
    }

    /// <summary>
    /// The Microsoft.ML.Tokenizers object of the checkpoint. <see cref="Encode"/> uses it for byte-level BPE and
    /// tiktoken only. SentencePiece models are encoded by Condensa's port of sentencepiece (normalizer spec with
    /// its character map, BPE merge order, Unigram Viterbi), which Microsoft.ML.Tokenizers 2.0.1 does not follow:
    /// it ignores the character map and breaks BPE ties differently, so its ids can differ from <see cref="Encode"/>'s.
    /// </summary>
    public Tokenizer Inner { get; }

    /// <summary>The id prepended by <see cref="Encode"/> when the checkpoint's tokenizer adds one, else null.</summary>
    public int? BosTokenId { get; }

    /// <summary>Every id that ends generation (Llama 3 has several: &lt;|end_of_text|&gt; and &lt;|eot_id|&gt;).</summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>The padding id, null when the checkpoint names none.</summary>
    public int? PadTokenId { get; }

    /// <summary>Number of ids, added tokens included (the largest id + 1).</summary>
    public int VocabSize => _table.Count;

    /// <summary>Which files the tokenizer came from: "tokenizer.json", "sentencepiece", "vocab.json+merges.txt" or "tiktoken".</summary>
    public string Format { get; }

    /// <summary>Added tokens (special and not) by content, matched as a whole when written in text.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>Whether <paramref name="tokenId"/> is an end-of-generation id.</summary>
    public bool IsEos(int tokenId) => EosTokenIds.Contains(tokenId);

    /// <summary>The ids that end a sequence: this tokenizer's end-of-sequence ids and <paramref name="more"/> (an export's
    /// own list, say), each once.</summary>
    public IReadOnlyList<int> StopTokenIds(IEnumerable<int> more) => [.. EosTokenIds.Concat(more).Distinct()];

    /// <summary>Whether <paramref name="tokenId"/> is a special token (skipped by decoding with skipSpecialTokens).</summary>
    public bool IsSpecial(int tokenId) => _table.IsSpecial(tokenId);

    /// <summary>
    /// Encodes text. Added tokens written in the text (&lt;|im_start|&gt;, &lt;s&gt;) become their ids;
    /// with <paramref name="addBos"/> the BOS id is prepended where the checkpoint's tokenizer adds one
    /// (Llama, not Qwen2 or GPT-2), as Hugging Face's encode with add_special_tokens does.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addBos = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos && _addsBos && BosTokenId is int bos)
            ids.Add(bos);
        if (_addedTokens.IsEmpty)
        {
            ids.AddRange(_encodeText(text, true));
            return ids;
        }
        bool first = true;
        _addedTokens.Split(
            text,
            segment => ids.AddRange(_encodeText(segment, first)),
            id =>
            {
                ids.Add(id);
                first = false;
            });
        return ids;
    }

    /// <summary>Decodes ids to text; invalid UTF-8 becomes U+FFFD. A SentencePiece model's denormalizer spec, where
    /// it has one, is applied to the result (the streaming decoder does not apply it).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        bool atStart = true;
        foreach (int id in ids)
        {
            foreach (byte b in _table.BytesOf(id, skipSpecialTokens, ref atStart))
                bytes.Add(b);
        }
        string text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        return _denormalize is null ? text : _denormalize(text);
    }

    /// <summary>A decoder that emits text as generated tokens arrive; see <see cref="StreamingDecoder"/>.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = true) => new(_table, skipSpecialTokens);
}
