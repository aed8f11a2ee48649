package server

import (
	"errors"
	"net/http"
)

// batchResetRequest is the body of POST /v1/batch/reset.
type batchResetRequest struct {
	Resets []struct {
		Session string `json:"session"`
		// Game or Seed, when they name another game than the session's,
		// replace the session (see handleBatchReset).
		Game string `json:"game,omitempty"`
		Seed int64  `json:"seed,omitempty"`
	} `json:"resets"`
	Admissible bool `json:"admissible,omitempty"`
}

// BatchResetItem is the result of one reset of a batch: the opening
// observation of the new episode, or an error. Session is the session
// that plays it: a new one, replacing Replaced, when the reset asked for
// another game.
type BatchResetItem struct {
	Session  string   `json:"session"`
	Replaced string   `json:"replaced,omitempty"`
	Env      *EnvInfo `json:"env,omitempty"`
	*StepResult
	Error *itemError `json:"error,omitempty"`
}

// itemError is the error of one item of a batch.
type itemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// handleBatchReset resets many sessions in one request, in order. A reset
// that names the session's own game (or none) starts a new episode of it,
// as POST /v1/sessions/{id}/reset does; one that names another ALFWorld
// game (game, or seed for a generated one) replaces the session by a new
// one of the same runtime and step limit playing that game (the old one is
// deleted; the item's session is the new id, replaced the old).
func (s *Server) handleBatchReset(w http.ResponseWriter, r *http.Request) error {
	var req batchResetRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Resets) > s.cfg.MaxBatch {
		return errorf(http.StatusRequestEntityTooLarge, "batch_too_large", "the batch has %d resets, over the limit of %d", len(req.Resets), s.cfg.MaxBatch)
	}
	ctx := r.Context()
	out := make([]BatchResetItem, len(req.Resets))
	for i, it := range req.Resets {
		out[i].Session = it.Session
		err := func() error {
			ss, err := s.lookup(ctx, it.Session)
			if err != nil {
				return err
			}
			_, end, err := s.begin(ctx, ss, "reset")
			if err != nil {
				return err
			}
			info := ss.env.Info()
			same := it.Seed == 0 || it.Seed == info.Seed
			if it.Game != "" {
				same = it.Game == info.Game
			}
			if same {
				res := StepResult{Observation: ss.env.Reset(), EpisodeState: episode(ss.env.Status())}
				if req.Admissible {
					res.Admissible = ss.env.Admissible()
				}
				end("ok")
				out[i].StepResult = &res
				return nil
			}
			a, ok := ss.env.(*alfEnv)
			end("ok")
			if !ok {
				return errorf(http.StatusBadRequest, "bad_env", "session %s plays %s: only ALFWorld sessions change their game", ss.id, info.Kind)
			}
			spec := EnvSpec{Kind: "alfworld", Game: it.Game, Seed: it.Seed, MaxSteps: a.env.Options().MaxSteps}
			if it.Game != "" {
				spec.Seed = 0
			}
			create := createRequest{Runtime: ss.runtime, Env: spec}
			nss, obs, err := s.createSession(ctx, tokenOf(ctx), create)
			var ae *apiError
			if errors.As(err, &ae) && (ae.Code == "quota" || ae.Code == "too_many_sessions") {
				// No room for both: the old session goes first.
				if err := s.deleteSession(ctx, ss.id); err != nil {
					return err
				}
				nss, obs, err = s.createSession(ctx, tokenOf(ctx), create)
			} else if err == nil {
				if err := s.deleteSession(ctx, ss.id); err != nil {
					s.log.WarnContext(ctx, "batch reset: the replaced session could not be deleted", "request_id", requestID(ctx), "session", ss.id, "err", err)
				}
			}
			if err != nil {
				return err
			}
			res := StepResult{Observation: obs, EpisodeState: episode(nss.env.Status())}
			if req.Admissible {
				res.Admissible = nss.env.Admissible()
			}
			ni := nss.env.Info()
			out[i].Session, out[i].Replaced, out[i].Env, out[i].StepResult = nss.id, ss.id, &ni, &res
			return nil
		}()
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				return err
			}
			out[i].Error = &itemError{ae.Code, ae.Message}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}
