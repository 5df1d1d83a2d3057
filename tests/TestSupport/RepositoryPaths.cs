namespace Condensa.TestSupport;

/// <summary>Folders of the repository, found by walking up from the test assembly to Runtime.sln.</summary>
public static class RepositoryPaths
{
    /// <summary>The repository root.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>tests/TestData.</summary>
    public static string TestData => Path.Combine(Root, "tests", "TestData");

    /// <summary>models/ (the shipped demo checkpoints).</summary>
    public static string Models => Path.Combine(Root, "models");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Runtime.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Runtime.sln not found above " + AppContext.BaseDirectory);
    }
}
