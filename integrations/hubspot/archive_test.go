package hubspot_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArchiveFindsTheContactByEmailThenDeletesItsID(t *testing.T) {
	f := newFake(t, contactOK(testContactID), reply{Status: http.StatusNoContent})
	archived, err := f.client(t).ArchiveContact(context.Background(), "cus_42", testEmail)
	require.NoError(t, err)
	assert.True(t, archived)
	got := f.requests()
	require.Len(t, got, 2)
	assert.Equal(t, http.MethodGet, got[0].Method)
	assert.Equal(t, "/crm/v3/objects/contacts/ana@example.com", got[0].Path)
	assert.Equal(t, "idProperty=email", got[0].Query)
	assert.Equal(t, http.MethodDelete, got[1].Method)
	assert.Equal(t, "/crm/v3/objects/contacts/"+testContactID, got[1].Path)
}

func TestArchiveOfAnUnknownContactIsNotAnError(t *testing.T) {
	f := newFake(t, hubspotError(http.StatusNotFound, "OBJECT_NOT_FOUND", "Object not found. Could not find contact ana@example.com"))
	archived, err := f.client(t).ArchiveContact(context.Background(), "cus_42", testEmail)
	require.NoError(t, err)
	assert.False(t, archived)
	assert.Len(t, f.requests(), 1, "nothing to delete")
}

func TestArchiveOfAContactGoneBetweenTheCalls(t *testing.T) {
	f := newFake(t, contactOK(testContactID), hubspotError(http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found"))
	archived, err := f.client(t).ArchiveContact(context.Background(), "cus_42", testEmail)
	require.NoError(t, err)
	assert.False(t, archived)
}

func TestArchiveFailuresAreClassifiedWithoutTheEmail(t *testing.T) {
	f := newFake(t, contactOK(testContactID), hubspotError(http.StatusInternalServerError, "INTERNAL_ERROR", "failed for ana@example.com"))
	_, err := f.client(t).ArchiveContact(context.Background(), "cus_42", testEmail)
	requireTransient(t, err)
	assert.Contains(t, err.Error(), "archive contact for customer cus_42")
	assertNoEmail(t, err, testEmail)

	_, err = f.client(t).ArchiveContact(context.Background(), "cus_42", " ")
	assert.ErrorContains(t, err, "no email address")
}
