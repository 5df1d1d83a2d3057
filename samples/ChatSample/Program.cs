// A console chat over Condensa through Microsoft.Extensions.AI's IChatClient: the reply streams as it is generated,
// Ctrl+C stops the current reply (a second Ctrl+C, or end of input, quits).
//
//   dotnet run --project samples/ChatSample [-- MODEL_DIR [--provider webgpu,cpu] [--template NAME]]
//
// MODEL_DIR is an export folder (condensa.json) or a Hugging Face checkpoint folder, exported on first use into
// ~/.cache/condensa/samples. Default: the shipped demo model, models/demo-code (a small Python-code model, so expect
// code-flavoured replies).
using Condensa;
using Condensa.Export;
using Condensa.Extensions.AI;
using Condensa.Runtime;
using Microsoft.Extensions.AI;

var positional = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal))).ToList();
string? Flag(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

var modelDir = positional.FirstOrDefault() ?? FindUp(Path.Combine("models", "demo-code"))
    ?? throw new DirectoryNotFoundException("models/demo-code not found above the current folder; pass a model folder.");
var exportDir = EnsureExport(modelDir);
var options = new CondensaChatClientOptions
{
    Session = new SessionSettings { Providers = (Flag("--provider") ?? "cpu").Split(',') },
    Template = Flag("--template"),
    MaxOutputTokens = 256,
};

using IChatClient client = CondensaChatClient.Load(exportDir, options);
var model = (DecoderModel)client.GetService(typeof(DecoderModel))!;
Console.Error.WriteLine($"chat with {Path.GetFileName(exportDir)} on {model.Provider.Name}; empty line or end of input quits, Ctrl+C stops a reply");

var history = new List<ChatMessage>();
CancellationTokenSource? reply = null;
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C cancels the reply in progress; with none in progress the default (quit) happens.
    if (reply is { IsCancellationRequested: false } r) { e.Cancel = true; r.Cancel(); }
};

while (true)
{
    Console.Write("> ");
    if (Console.ReadLine() is not { Length: > 0 } line) break;
    history.Add(new ChatMessage(ChatRole.User, line));

    using (reply = new CancellationTokenSource())
    {
        var text = new System.Text.StringBuilder();
        try
        {
            await foreach (var update in client.GetStreamingResponseAsync(history, new ChatOptions { Temperature = 0.7f, TopP = 0.9f }, reply.Token))
            {
                Console.Write(update.Text);
                text.Append(update.Text);
            }
        }
        catch (OperationCanceledException)
        {
            Console.Write(" [stopped]");
        }
        Console.WriteLine();
        history.Add(new ChatMessage(ChatRole.Assistant, text.ToString()));
    }
    reply = null;
}

// An export folder as is; a checkpoint folder exported once into ~/.cache/condensa/samples/<name>.
static string EnsureExport(string dir)
{
    if (File.Exists(Path.Combine(dir, ModelManifest.FileName))) return dir;
    var name = Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/', '\\'));
    var target = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "condensa", "samples", name);
    if (!File.Exists(Path.Combine(target, ModelManifest.FileName)))
    {
        Console.Error.WriteLine($"exporting {dir} to {target} (first use)");
        CheckpointExporter.Export(dir, target, new ExportOptions());
    }
    return target;
}

// A relative path found in the current folder or one of its parents.
static string? FindUp(string relative)
{
    for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        if (Directory.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
    return null;
}
