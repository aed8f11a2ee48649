package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/agent"
)

// openAIBaseURL is the API a model is asked at when --base-url is empty.
const openAIBaseURL = "https://api.openai.com/v1"

// keyHint says where gantry reads the API key from.
const keyHint = "set OPENAI_API_KEY or GANTRY_API_KEY"

// errNoModel is the error of the openai policy without a model name.
var errNoModel = errors.New("no model given: name one with --model (or GANTRY_MODEL, or model: in the config file)")

// checkModel asks the model server for its model list before an episode
// starts, so that a missing key or a dead server fails at once (exit
// status 3) instead of after the prompt and a round of retries. A server
// without a model list (404) passes: only refusals and failures count.
func checkModel(ctx context.Context, cfg agent.OpenAIConfig) error {
	fail := func(err error) error { return &exitError{code: exitModel, err: err} }
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = openAIBaseURL
		if cfg.APIKey == "" {
			return fail(fmt.Errorf("no API key for %s: %s", base, keyHint))
		}
	}
	timeout := 30 * time.Second
	if cfg.Timeout > 0 && cfg.Timeout < timeout {
		timeout = cfg.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/models", nil)
	if err != nil {
		return fail(fmt.Errorf("model server %q: %w", base, err))
	}
	if cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(fmt.Errorf("model server %s is unreachable: %w", base, err))
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if cfg.APIKey == "" {
			return fail(fmt.Errorf("model server %s answered %s: it wants an API key: %s", base, resp.Status, keyHint))
		}
		return fail(fmt.Errorf("model server %s refused the API key (%s): %s", base, resp.Status, keyHint))
	case resp.StatusCode >= 500:
		return fail(fmt.Errorf("model server %s answered %s", base, resp.Status))
	}
	return nil
}

// withKeyHint adds where the key is read from to the error of a model
// call the server refused (401, 403).
func withKeyHint(msg string) string {
	if strings.Contains(msg, "status code: 401") || strings.Contains(msg, "status code: 403") {
		return msg + " (" + keyHint + ")"
	}
	return msg
}
