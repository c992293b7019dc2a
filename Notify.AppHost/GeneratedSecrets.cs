using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration.UserSecrets;

namespace Notify.AppHost;

/// <summary>
/// Secret parameters that work with no set-up: an operator supplies one as <c>Parameters:&lt;name&gt;</c>
/// (configuration, or the environment variable <c>Parameters__&lt;name&gt;</c>); otherwise one is generated and
/// kept in the AppHost's user secrets, so the next run uses the same value.
/// </summary>
internal static class GeneratedSecrets
{
    /// <summary>The system tenant's first admin key.</summary>
    public const string BootstrapAdminKey = "bootstrap-admin-key";

    /// <summary>The HMAC key of recipient links (preference center, unsubscribe), shared by the API and the Worker.</summary>
    public const string SigningKey = "signing-key";

    public static IResourceBuilder<ParameterResource> AddBootstrapAdminKey(this IDistributedApplicationBuilder builder) =>
        builder.AddGeneratedSecret(BootstrapAdminKey, () => "ntf_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)));

    public static IResourceBuilder<ParameterResource> AddSigningKey(this IDistributedApplicationBuilder builder) =>
        builder.AddGeneratedSecret(SigningKey, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

    public static string? Value(IDistributedApplicationBuilder builder, string name) => builder.Configuration["Parameters:" + name];

    private static IResourceBuilder<ParameterResource> AddGeneratedSecret(this IDistributedApplicationBuilder builder, string name, Func<string> generate)
    {
        var configurationKey = "Parameters:" + name;
        if (builder.ExecutionContext.IsRunMode && string.IsNullOrWhiteSpace(builder.Configuration[configurationKey]))
        {
            var generated = generate();
            Persist(configurationKey, generated);
            builder.Configuration[configurationKey] = generated;
        }

        return builder.AddParameter(name, secret: true);
    }

    private static void Persist(string configurationKey, string value)
    {
        var id = typeof(GeneratedSecrets).Assembly
            .GetCustomAttributes(typeof(UserSecretsIdAttribute), false).OfType<UserSecretsIdAttribute>().Single().UserSecretsId;
        var path = PathHelper.GetSecretsPathFromSecretsId(id);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var secrets = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [] : [];
        secrets[configurationKey] = value;
        File.WriteAllText(path, secrets.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
