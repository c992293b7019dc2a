using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Notify.Modules.Delivery.Providers;

/// <summary>
/// Push through Firebase Cloud Messaging's HTTP v1 API. Credentials: <c>serviceAccount</c>, the service account's JSON key
/// (project_id, client_email, private_key, token_uri). Settings: <c>baseUrl</c> (default https://fcm.googleapis.com) and
/// <c>tokenUrl</c> (default the key's token_uri). An OAuth access token is obtained with a signed JWT (RFC 7523) and
/// reused until shortly before it expires.
/// </summary>
internal sealed class FcmProvider(ProviderHttp http, TimeProvider clock) : IChannelProvider
{
    private const string Scope = "https://www.googleapis.com/auth/firebase.messaging";
    private readonly ConcurrentDictionary<(Guid Provider, DateTimeOffset Version), (string Token, DateTimeOffset Expires)> _tokens = new();
    private readonly SemaphoreSlim _tokenLock = new(1, 1);

    public string Kind => ProviderKinds.Fcm;

    public async Task<string> SendAsync(ProviderSend send, CancellationToken ct)
    {
        var account = ServiceAccount.Parse(send.Provider.Credential("serviceAccount"));
        var accessToken = await AccessTokenAsync(send.Provider, account, ct);
        var baseUrl = (send.Provider.Setting("baseUrl") ?? "https://fcm.googleapis.com").TrimEnd('/');
        var content = send.Content;
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            message = new
            {
                token = send.Delivery.Address,
                notification = new { title = content.Title, body = content.Body },
                // FCM's data is a map of strings.
                data = DataOf(content.Data),
            },
        }, IgnoreNulls);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/v1/projects/{Uri.EscapeDataString(account.ProjectId)}/messages:send");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        var (status, answer) = await http.SendAsync(request, new HandoverContent(body, "application/json", send.BeforeEnd), ct);
        if ((int)status is >= 200 and < 300 && JsonDocument.Parse(answer).RootElement.TryGetProperty("name", out var name))
        {
            return name.GetString()!;
        }

        if (status == HttpStatusCode.Unauthorized)
        {
            // The token was revoked or expired early: the next try gets a new one.
            _tokens.TryRemove((send.Provider.Config.Id, send.Provider.Config.UpdatedAt), out _);
            throw new ProviderException(ProviderFailure.Transient, $"FCM refused the access token: {answer}");
        }

        // UNREGISTERED (404) or an invalid token (400 INVALID_ARGUMENT about the token): the device is gone.
        var failure = status == HttpStatusCode.NotFound || (status == HttpStatusCode.BadRequest && answer.Contains("token", StringComparison.OrdinalIgnoreCase))
            ? ProviderFailure.RecipientInvalid
            : ProviderHttp.FailureOf(status);
        throw new ProviderException(failure, $"FCM answered {(int)status}: {(answer.Length <= 300 ? answer : answer[..300])}");
    }

    /// <summary>FCM's data is a map of strings: the rendered JSON object's values, non-strings as their JSON.</summary>
    private static Dictionary<string, string>? DataOf(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.ValueKind != JsonValueKind.Object
            ? null
            : document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());
    }

    private static readonly JsonSerializerOptions IgnoreNulls = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private async Task<string> AccessTokenAsync(ResolvedProvider provider, ServiceAccount account, CancellationToken ct)
    {
        var key = (provider.Config.Id, provider.Config.UpdatedAt);
        if (_tokens.TryGetValue(key, out var cached) && cached.Expires > clock.GetUtcNow().AddMinutes(1))
        {
            return cached.Token;
        }

        // One token request at a time: concurrent sends wait for it rather than each asking for their own.
        await _tokenLock.WaitAsync(ct);
        try
        {
            if (_tokens.TryGetValue(key, out cached) && cached.Expires > clock.GetUtcNow().AddMinutes(1))
            {
                return cached.Token;
            }

            return await RequestAccessTokenAsync(provider, account, key, ct);
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    private async Task<string> RequestAccessTokenAsync(ResolvedProvider provider, ServiceAccount account, (Guid, DateTimeOffset) key, CancellationToken ct)
    {
        var now = clock.GetUtcNow();

        var tokenUrl = provider.Setting("tokenUrl") ?? account.TokenUri;
        var assertion = SignedAssertion(account, tokenUrl, now);
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenUrl)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "urn:ietf:params:oauth:grant-type:jwt-bearer",
                ["assertion"] = assertion,
            }),
        };
        HttpResponseMessage response;
        try
        {
            response = await http.Client.SendAsync(request, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            throw new ProviderException(ProviderFailure.Transient, $"Getting an FCM access token failed: {ex.Message}", ex);
        }

        using (response)
        {
            var answer = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new ProviderException((int)response.StatusCode >= 500 ? ProviderFailure.Transient : ProviderFailure.Permanent,
                    $"The token endpoint refused the service account ({(int)response.StatusCode}): {(answer.Length <= 300 ? answer : answer[..300])}");
            }

            using var json = JsonDocument.Parse(answer);
            var token = json.RootElement.GetProperty("access_token").GetString()!;
            var lifetime = json.RootElement.TryGetProperty("expires_in", out var expires) ? expires.GetInt32() : 3600;
            _tokens[key] = (token, now.AddSeconds(lifetime));
            return token;
        }
    }

    /// <summary>The JWT the token endpoint exchanges for an access token: RS256, signed with the service account's key.</summary>
    private static string SignedAssertion(ServiceAccount account, string audience, DateTimeOffset now)
    {
        static string Part(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
        var header = Part(new { alg = "RS256", typ = "JWT" });
        var claims = Part(new { iss = account.ClientEmail, scope = Scope, aud = audience, iat = now.ToUnixTimeSeconds(), exp = now.AddHours(1).ToUnixTimeSeconds() });
        using var rsa = RSA.Create();
        rsa.ImportFromPem(account.PrivateKey);
        var signature = rsa.SignData(Encoding.ASCII.GetBytes($"{header}.{claims}"), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{header}.{claims}.{Base64Url.EncodeToString(signature)}";
    }

    /// <summary>The fields of a Google service account key the adapter uses.</summary>
    private sealed record ServiceAccount(string ProjectId, string ClientEmail, string PrivateKey, string TokenUri)
    {
        public static ServiceAccount Parse(string? json)
        {
            try
            {
                using var document = JsonDocument.Parse(json ?? throw new JsonException("missing"));
                var root = document.RootElement;
                return new ServiceAccount(
                    root.GetProperty("project_id").GetString()!, root.GetProperty("client_email").GetString()!, root.GetProperty("private_key").GetString()!,
                    root.TryGetProperty("token_uri", out var uri) ? uri.GetString()! : "https://oauth2.googleapis.com/token");
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new ProviderException(ProviderFailure.Permanent, "The FCM provider's credentials.serviceAccount is not a service account key (project_id, client_email, private_key).");
            }
        }
    }
}
