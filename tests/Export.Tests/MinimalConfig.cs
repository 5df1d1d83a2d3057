namespace Condensa.Export.Tests;

/// <summary>The smallest config.json an architecture parses, with some fields added or replaced (config tests' input).</summary>
internal static class MinimalConfig
{
    public static string Json(string architecture, string extraJson)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse($$"""
            {"architectures": ["{{architecture}}"], "hidden_size": 64, "intermediate_size": 96,
             "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 320}
            """)!.AsObject();
        foreach (var (k, v) in System.Text.Json.Nodes.JsonNode.Parse(extraJson)!.AsObject().ToList())
            node[k] = v?.DeepClone();
        return node.ToJsonString();
    }
}
