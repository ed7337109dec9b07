package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const email = "ada.lovelace@example.com"

func samplePayloads() []*commonpb.Payload {
	return []*commonpb.Payload{
		{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"email":"` + email + `","phone":"+14155550100"}`)},
		{Metadata: map[string][]byte{"encoding": []byte("binary/null")}},
		{Metadata: map[string][]byte{"encoding": []byte("binary/plain")}, Data: []byte{0, 1, 2, 0xff}},
		{Metadata: map[string][]byte{"encoding": []byte("json/plain"), "messageType": []byte("x")}, Data: nil},
		{},
	}
}

func assertPayloadsEqual(t *testing.T, want, got []*commonpb.Payload) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.True(t, proto.Equal(want[i], got[i]), "payload %d: want %v, got %v", i, want[i], got[i])
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c := NewCodec(mustKeys(t, testKey("k1", 'a')))
	in := samplePayloads()
	enc, err := c.Encode(in)
	require.NoError(t, err)
	require.Len(t, enc, len(in))
	assertPayloadsEqual(t, samplePayloads(), in) // inputs not mutated

	dec, err := c.Decode(enc)
	require.NoError(t, err)
	assertPayloadsEqual(t, samplePayloads(), dec)
}

func TestEncodeHidesPlaintext(t *testing.T) {
	c := NewCodec(mustKeys(t, testKey("k1", 'a')))
	enc, err := c.Encode(samplePayloads())
	require.NoError(t, err)
	for i, p := range enc {
		raw, err := proto.Marshal(p)
		require.NoError(t, err)
		assert.False(t, bytes.Contains(raw, []byte(email)), "payload %d leaks the email", i)
		assert.False(t, bytes.Contains(raw, []byte("json/plain")), "payload %d leaks the inner encoding", i)
		assert.False(t, bytes.Contains(raw, []byte("14155550100")), "payload %d leaks the phone", i)
	}

	// Random nonces: the same input encrypts differently each time.
	a, err := c.Encode(samplePayloads()[:1])
	require.NoError(t, err)
	b, err := c.Encode(samplePayloads()[:1])
	require.NoError(t, err)
	assert.NotEqual(t, a[0].Data, b[0].Data)
}

func TestEncodeMetadataCarriesKeyID(t *testing.T) {
	c := NewCodec(mustKeys(t, testKey("prod-2026", 'a')+","+testKey("prod-2025", 'b')))
	enc, err := c.Encode(samplePayloads())
	require.NoError(t, err)
	for _, p := range enc {
		assert.Equal(t, map[string][]byte{
			"encoding":          []byte("binary/encrypted"),
			"encryption-key-id": []byte("prod-2026"),
		}, p.Metadata)
		assert.GreaterOrEqual(t, len(p.Data), 12+16, "nonce and tag")
	}
}

func TestKeyRotation(t *testing.T) {
	keyA, keyB := testKey("A", 'a'), testKey("B", 'b')
	oldData, err := NewCodec(mustKeys(t, keyA)).Encode(samplePayloads())
	require.NoError(t, err)

	rotated := NewCodec(mustKeys(t, keyB+","+keyA))
	dec, err := rotated.Decode(oldData)
	require.NoError(t, err, "old histories stay readable after rotation")
	assertPayloadsEqual(t, samplePayloads(), dec)

	newData, err := rotated.Encode(samplePayloads())
	require.NoError(t, err)
	for _, p := range newData {
		assert.Equal(t, "B", string(p.Metadata[MetadataKeyID]), "new data uses the first key")
	}
	_, err = NewCodec(mustKeys(t, keyB)).Decode(newData)
	assert.NoError(t, err, "new data needs only B")

	// Mixed batch: one old, one new payload.
	dec, err = rotated.Decode([]*commonpb.Payload{oldData[0], newData[0]})
	require.NoError(t, err)
	assertPayloadsEqual(t, []*commonpb.Payload{samplePayloads()[0], samplePayloads()[0]}, dec)
}

func TestDecodeUnknownKeyNamesID(t *testing.T) {
	enc, err := NewCodec(mustKeys(t, testKey("A", 'a'))).Encode(samplePayloads())
	require.NoError(t, err)
	_, err = NewCodec(mustKeys(t, testKey("B", 'b'))).Decode(enc)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown key ID "A"`)
	assert.Contains(t, err.Error(), "B")

	_, err = NewCodec(Keys{}).Decode(enc)
	require.ErrorIs(t, err, ErrNoKeys)
	assert.Contains(t, err.Error(), `"A"`)
}

func TestDecodeSameIDDifferentKeyFails(t *testing.T) {
	enc, err := NewCodec(mustKeys(t, testKey("A", 'a'))).Encode(samplePayloads())
	require.NoError(t, err)
	_, err = NewCodec(mustKeys(t, testKey("A", 'x'))).Decode(enc)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key ID "A"`)
}

func TestDecodeTamperedFails(t *testing.T) {
	keys := testKey("A", 'a') + "," + testKey("B", 'b')
	c := NewCodec(mustKeys(t, keys))
	fresh := func() *commonpb.Payload {
		enc, err := c.Encode(samplePayloads()[:1])
		require.NoError(t, err)
		return enc[0]
	}

	for _, pos := range []int{0, 12, 20} { // nonce, ciphertext body, and the tag
		p := fresh()
		if pos == 20 {
			pos = len(p.Data) - 1
		}
		p.Data[pos] ^= 0x01
		_, err := c.Decode([]*commonpb.Payload{p})
		require.Error(t, err, "flipped byte %d", pos)
		assert.Contains(t, err.Error(), `key ID "A"`)
	}

	p := fresh()
	p.Data = p.Data[:len(p.Data)-1]
	_, err := c.Decode([]*commonpb.Payload{p})
	assert.Error(t, err, "truncated")

	p = fresh()
	p.Data = p.Data[:5]
	_, err = c.Decode([]*commonpb.Payload{p})
	assert.Error(t, err, "shorter than a nonce")

	// The key ID is additional data: relabelling a payload breaks it even
	// though both keys are available.
	p = fresh()
	p.Metadata[MetadataKeyID] = []byte("B")
	_, err = c.Decode([]*commonpb.Payload{p})
	assert.Error(t, err, "relabelled key ID")

	p = fresh()
	delete(p.Metadata, MetadataKeyID)
	_, err = c.Decode([]*commonpb.Payload{p})
	require.Error(t, err)
	assert.Contains(t, err.Error(), MetadataKeyID)
}

func TestDecodePassesThroughUnencrypted(t *testing.T) {
	c := NewCodec(mustKeys(t, testKey("A", 'a')))
	in := samplePayloads()
	out, err := c.Decode(in)
	require.NoError(t, err)
	assertPayloadsEqual(t, samplePayloads(), out)

	// A history mixing pre-encryption and encrypted payloads.
	enc, err := c.Encode(samplePayloads()[:1])
	require.NoError(t, err)
	out, err = c.Decode([]*commonpb.Payload{samplePayloads()[2], enc[0]})
	require.NoError(t, err)
	assertPayloadsEqual(t, []*commonpb.Payload{samplePayloads()[2], samplePayloads()[0]}, out)
}

func TestEncodeWithoutKeys(t *testing.T) {
	_, err := NewCodec(Keys{}).Encode(samplePayloads())
	assert.ErrorIs(t, err, ErrNoKeys)
}

type customer struct {
	ID    string
	Email string
	Phone string
	Name  string
	Tags  []string
}

func TestDataConverterRoundTrip(t *testing.T) {
	dc := DataConverter(mustKeys(t, testKey("A", 'a')))
	in := customer{ID: "cus_1", Email: email, Phone: "+14155550100", Name: "Ada Lovelace", Tags: []string{"trial"}}

	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	assert.Equal(t, "binary/encrypted", string(p.Metadata["encoding"]))
	raw, err := proto.Marshal(p)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte(email)))
	assert.False(t, bytes.Contains(raw, []byte("Lovelace")))

	var out customer
	require.NoError(t, dc.FromPayload(p, &out))
	assert.Equal(t, in, out)

	ps, err := dc.ToPayloads(in, "second arg", 42, nil)
	require.NoError(t, err)
	var (
		c2 customer
		s  string
		n  int
		np *customer
	)
	require.NoError(t, dc.FromPayloads(ps, &c2, &s, &n, &np))
	assert.Equal(t, in, c2)
	assert.Equal(t, "second arg", s)
	assert.Equal(t, 42, n)
	assert.Nil(t, np)

	// A plain default-converter payload (an old history) still reads.
	old, err := converter.GetDefaultDataConverter().ToPayload(in)
	require.NoError(t, err)
	var fromOld customer
	require.NoError(t, dc.FromPayload(old, &fromOld))
	assert.Equal(t, in, fromOld)
}

func TestFailureConverterEncryptsMessage(t *testing.T) {
	dc := DataConverter(mustKeys(t, testKey("A", 'a')))
	fc := FailureConverter(dc)

	appErr := temporal.NewApplicationError("cannot reach "+email, "DeliveryFailed", customer{Email: email})
	f := fc.ErrorToFailure(appErr)
	require.NotNil(t, f)

	raw, err := proto.Marshal(f)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte(email)), "failure as stored must not hold the email")
	assert.NotContains(t, f.Message, email)
	assert.Equal(t, "Encoded failure", f.Message)
	require.NotNil(t, f.EncodedAttributes)
	assert.Equal(t, "binary/encrypted", string(f.EncodedAttributes.Metadata["encoding"]))
	assert.Equal(t, "DeliveryFailed", f.GetApplicationFailureInfo().GetType(), "the error type stays readable")

	// FailureToError decodes the failure in place: keep a stored copy.
	stored := proto.Clone(f).(*failurepb.Failure)

	back := fc.FailureToError(f)
	var decoded *temporal.ApplicationError
	require.True(t, errors.As(back, &decoded))
	assert.Contains(t, decoded.Error(), "cannot reach "+email)
	assert.Equal(t, "DeliveryFailed", decoded.Type())
	var details customer
	require.NoError(t, decoded.Details(&details))
	assert.Equal(t, email, details.Email)

	// Another key set cannot read the message.
	other := FailureConverter(DataConverter(mustKeys(t, testKey("B", 'b'))))
	assert.NotContains(t, other.FailureToError(stored).Error(), email)
}
