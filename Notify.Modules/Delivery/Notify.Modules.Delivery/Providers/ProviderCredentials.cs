using System.Text.Json;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// Provider credentials at rest: a JSON object of named secrets, encrypted with ASP.NET Data Protection under its own
/// purpose. The key ring lives in <c>delivery.data_protection_keys</c> (<see cref="DatabaseKeyRepository"/>), so every API
/// and Worker replica can read what any of them wrote.
/// </summary>
internal sealed class ProviderCredentials(IDataProtectionProvider protection)
{
    private readonly IDataProtector _protector = protection.CreateProtector("Notify.Delivery.ProviderCredentials.v1");

    public string? Protect(IReadOnlyDictionary<string, string>? credentials) =>
        credentials is null || credentials.Count == 0 ? null : _protector.Protect(JsonSerializer.Serialize(credentials));

    public IReadOnlyDictionary<string, string> Unprotect(string? protectedCredentials) =>
        protectedCredentials is null
            ? new Dictionary<string, string>()
            : JsonSerializer.Deserialize<Dictionary<string, string>>(_protector.Unprotect(protectedCredentials)) ?? [];

    /// <summary>The names of the stored credentials (the API shows these, never the values).</summary>
    public IReadOnlyList<string> NamesOf(string? protectedCredentials) => [.. Unprotect(protectedCredentials).Keys.Order(StringComparer.Ordinal)];
}

/// <summary>The Data Protection key ring in PostgreSQL, shared by all replicas.</summary>
internal sealed class DatabaseKeyRepository(NpgsqlDataSource dataSource) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var command = dataSource.CreateCommand("SELECT xml FROM delivery.data_protection_keys ORDER BY id");
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var command = dataSource.CreateCommand("INSERT INTO delivery.data_protection_keys (friendly_name, xml) VALUES ($1, $2)");
        command.Parameters.AddWithValue(friendlyName);
        command.Parameters.AddWithValue(element.ToString(SaveOptions.DisableFormatting));
        command.ExecuteNonQuery();
    }
}
