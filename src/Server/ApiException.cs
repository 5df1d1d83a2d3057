using System.Text.Json.Nodes;

namespace Condensa.Server;

/// <summary>
/// A request the server refuses, answered with OpenAI's error shape:
/// <c>{"error": {"message", "type", "param", "code"}}</c> and a 4xx status, so clients surface the message.
/// </summary>
public sealed class ApiException(int status, string message, string? param = null, string type = "invalid_request_error", string? code = null)
    : Exception(message)
{
    /// <summary>HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; } = param;

    /// <summary>OpenAI's error type.</summary>
    public string Type { get; } = type;

    /// <summary>OpenAI's error code, or null.</summary>
    public string? Code { get; } = code;

    /// <summary>The error body.</summary>
    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject { ["message"] = Message, ["type"] = Type, ["param"] = Param, ["code"] = Code },
    };

    /// <summary>400 naming the field at fault.</summary>
    public static ApiException BadField(string param, string message) => new(400, message, param);
}
