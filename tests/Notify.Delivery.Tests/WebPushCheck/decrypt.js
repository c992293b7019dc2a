// Decrypts a Web Push message body (RFC 8291, aes128gcm) with the http_ece package, independently of Notify's code.
// Usage: node decrypt.js <body base64> <subscriber private key base64url> <auth secret base64url>; prints the plaintext.
const crypto = require('crypto');
const ece = require('http_ece');

const [body, privateKey, authSecret] = process.argv.slice(2);
const subscriber = crypto.createECDH('prime256v1');
subscriber.setPrivateKey(Buffer.from(privateKey, 'base64url'));
const plaintext = ece.decrypt(Buffer.from(body, 'base64'), { version: 'aes128gcm', privateKey: subscriber, authSecret });
process.stdout.write(plaintext.toString('utf8'));
