package termauth

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Printing a Config, a Method, a Client or a TokenReport never shows a secret.
func TestSecretsAreNotPrinted(t *testing.T) {
	cfg := Config{App: "t", Issuer: "https://as.example", ClientID: "c", ClientSecret: "hunter2"}
	m := Password("alice", "wonderland")
	tok := Token("pat-secret")
	report := TokenReport{Source: "store", Token: "at-secret", Header: [2]string{"Authorization", "Bearer at-secret"},
		Credential: []byte(`{"tokens":{"refresh_token":"rt-secret"}}`)}
	client, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%v", m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m), fmt.Sprintf("%v", tok),
		fmt.Sprintf("%v", client), fmt.Sprintf("%+v", client), fmt.Sprintf("%#v", client),
		fmt.Sprintf("%+v", reflect.ValueOf(client).Elem()), // a Client value: unexported fields printed raw
		fmt.Sprintf("%v", report), fmt.Sprintf("%+v", &report), fmt.Sprintf("%#v", report),
	} {
		for _, secret := range []string{"hunter2", "wonderland", "pat-secret", "at-secret", "rt-secret"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %q", s, secret)
			}
		}
	}
}
