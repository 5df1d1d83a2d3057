namespace Condensa.Export;

/// <summary>What <see cref="CheckpointExporter.Export"/> wrote.</summary>
/// <param name="OutputDir">The export folder.</param>
/// <param name="ModelPath">model.onnx.</param>
/// <param name="DataPath">model.onnx.data (external weights).</param>
/// <param name="ManifestPath">condensa.json.</param>
/// <param name="Manifest">The manifest's contents.</param>
public sealed record ExportResult(string OutputDir, string ModelPath, string DataPath, string ManifestPath, ModelManifest Manifest);
