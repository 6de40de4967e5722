package termauth

import (
	"fmt"
	"strings"
	"testing"
)

// Printing a Config, a Method or a Client never shows a secret (found in review).
func TestSecretsAreNotPrinted(t *testing.T) {
	cfg := Config{App: "t", Issuer: "https://as.example", ClientID: "c", ClientSecret: "hunter2"}
	m := Password("alice", "wonderland")
	tok := Token("pat-secret")
	for _, s := range []string{
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%v", m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m), fmt.Sprintf("%v", tok),
		fmt.Sprintf("%v", &Client{cfg: cfg}), fmt.Sprintf("%+v", &Client{cfg: cfg}),
	} {
		for _, secret := range []string{"hunter2", "wonderland", "pat-secret"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows %q", s, secret)
			}
		}
	}
}
