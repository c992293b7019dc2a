using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration.UserSecrets;

namespace Notify.AppHost;

/// <summary>
/// The system tenant's first admin key, an Aspire secret parameter. An operator supplies it as
/// <c>Parameters:bootstrap-admin-key</c> (configuration, or the environment variable
/// <c>Parameters__bootstrap-admin-key</c>); otherwise one is generated and kept in the AppHost's user
/// secrets, so the next run uses the same key.
/// </summary>
internal static class BootstrapAdminKey
{
    public const string ParameterName = "bootstrap-admin-key";
    private const string ConfigurationKey = "Parameters:" + ParameterName;

    public static IResourceBuilder<ParameterResource> AddBootstrapAdminKey(this IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsRunMode && string.IsNullOrWhiteSpace(builder.Configuration[ConfigurationKey]))
        {
            var generated = "ntf_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
            Persist(generated);
            builder.Configuration[ConfigurationKey] = generated;
        }

        return builder.AddParameter(ParameterName, secret: true);
    }

    public static string? Value(IDistributedApplicationBuilder builder) => builder.Configuration[ConfigurationKey];

    private static void Persist(string key)
    {
        var id = typeof(BootstrapAdminKey).Assembly
            .GetCustomAttributes(typeof(UserSecretsIdAttribute), false).OfType<UserSecretsIdAttribute>().Single().UserSecretsId;
        var path = PathHelper.GetSecretsPathFromSecretsId(id);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var secrets = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [] : [];
        secrets[ConfigurationKey] = key;
        File.WriteAllText(path, secrets.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
