package codec

import (
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted is the "encoding" metadata value of an encrypted
	// payload.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID is the metadata key naming the key a payload was
	// encrypted with. The ID is also the AES-GCM additional data, so a
	// payload relabelled with another key's ID does not decrypt.
	MetadataKeyID = "encryption-key-id"
)

// ErrNoKeys is returned by a codec built from an empty key set.
var ErrNoKeys = errors.New("codec: no encryption keys configured")

// Codec is a converter.PayloadCodec encrypting each payload with AES-256-GCM.
// It is safe for concurrent use.
type Codec struct {
	keys Keys
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a PayloadCodec that encrypts with the first of keys and
// decrypts with any of them. Encode marshals each whole payload (metadata
// and data) and seals it; the result has metadata encoding=binary/encrypted
// and encryption-key-id=<id>, and data nonce(12) || ciphertext || tag(16).
// Decode passes payloads with any other encoding through untouched, so
// histories written before encryption was enabled stay readable.
func NewCodec(keys Keys) converter.PayloadCodec {
	return &Codec{keys: keys}
}

// Encode implements converter.PayloadCodec.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if len(c.keys.keys) == 0 {
		return nil, ErrNoKeys
	}
	k := c.keys.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: marshal payload %d: %w", i, err)
		}
		sealed := k.aead.Seal(nil, nil, plain, []byte(k.id))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(k.id),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		if id == "" {
			return nil, fmt.Errorf("codec: payload %d is encrypted but has no %s metadata", i, MetadataKeyID)
		}
		k, ok := c.keys.lookup(id)
		if !ok {
			if len(c.keys.keys) == 0 {
				return nil, fmt.Errorf("codec: payload %d is encrypted with key ID %q: %w", i, id, ErrNoKeys)
			}
			return nil, fmt.Errorf("codec: payload %d is encrypted with unknown key ID %q (configured key IDs: %s); add that key to %s after the current one",
				i, id, strings.Join(c.keys.IDs(), ", "), EnvKeys)
		}
		plain, err := k.aead.Open(nil, nil, p.GetData(), []byte(k.id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload %d: decrypt with key ID %q failed: ciphertext or key ID was altered, or the key under that ID changed", i, id)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("codec: payload %d: unmarshal decrypted payload: %w", i, err)
		}
		out[i] = &orig
	}
	return out, nil
}

// DataConverter returns the default data converter with payloads encrypted
// by NewCodec(keys). Use the same one on every client, worker and starter of
// a namespace.
func DataConverter(keys Keys) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(keys))
}

// Converters returns DataConverter(keys) and the FailureConverter over it:
// what client.Options.DataConverter and FailureConverter take on every
// client, worker and starter of the namespace.
func Converters(keys Keys) (converter.DataConverter, converter.FailureConverter) {
	dc := DataConverter(keys)
	return dc, FailureConverter(dc)
}

// FailureConverter returns the SDK's default failure converter using dc and
// with EncodeCommonAttributes set, so failure messages and stack traces are
// moved into an encoded payload (encrypted when dc is DataConverter(keys))
// and Temporal stores only the message "Encoded failure". Pass it as
// client.Options.FailureConverter next to DataConverter: dc.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}
