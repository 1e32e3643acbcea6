// Package model is the modelling core of the recommendation module
// (issue 15): an implicit-feedback interaction matrix, the models that
// learn from it, and their offline evaluation. It is pure Go (gonum for
// EASE's linear algebra), touches no database and imports nothing from
// other domains; internal/reco feeds it viewing events and stores what
// it computes.
//
// # Data
//
// A Builder turns (user, item, weight, time) events into a Matrix: users
// × items, sparse, with external ids mapped to dense indices (Index).
// Weights are implicit: WatchWeight makes a finished film count 1 and five
// minutes of it about 0.07; rewatches add up to MaxWeight; a thumbs-down
// (ThumbsDown) removes the pair and records it as disliked, so that no
// model learns from it and no recommendation returns it.
//
// # Models
//
// Every model satisfies Model: Fit on a matrix, Score a history vector,
// Similar items for an item. Recommend turns scores into a top-N that
// leaves out the history and any excluded item (thumbs-down, maturity,
// availability).
//
//	model       what                                        fit cost                memory while fitting           kept after Fit
//	MostPop     users per item                              |X|                     4 B/item                       4 B/item
//	PopDecay    weight·0.5^(age/half-life), per genre too   |X|                     4 B/item                       4 B/item + genre lists
//	ItemKNN     cosine, top-k neighbours per item (sparse)  Σ_u |row u|²            8 B/item per core + result     8·k B/item (k=100: 1.6 MB at 2k items)
//	RP3beta     random walk, α, β, top-k per item (sparse)  Σ_u |row u|²            8 B/item per core + result     8·k B/item (k=200: 3.2 MB at 2k items)
//	EASE        closed form, λ on a validation split        ≈ n³ flops per λ        16·n² B (G reused for P,       8·200 B/item (B as float32,
//	            (dense)                                                             plus its Cholesky factor)      pruned to 200 per column)
//
// with |X| the number of interactions and n the number of items. Dense
// EASE's two n × n float64 matrices cost 45 MB at the 1,682 items of
// ML-100k, 220 MB at 3,706 (ML-1M), 1.6 GB at 10,000 and 6.4 GB at
// 20,000, and the time grows with n³ (5–7 s per λ at 2,000 items here, so
// hours at 20,000): above EASE.MaxItems (default
// DefaultEASEMaxItems = 20,000, RECO_EASE_MAX_ITEMS) it refuses with
// ErrTooManyItems and a retrain uses the sparse models, whose cost grows
// with the interactions, not with n². The matrix itself costs 24 bytes
// per interaction (CSR and CSC with float32 weights, plus the time).
//
// # Evaluation and selection
//
// Split holds out a random share of interactions (deterministic for a
// seed); Evaluate ranks, for each user with a test item, every item not
// in its training row and reports P@K, R@K (hits/min(K, |test|)), plain
// recall (hits/|test|) and NDCG@K; Measure and Run add the fit time and
// peak heap. Select picks among candidates by validation NDCG@10 and
// refits the winner: the model that fills "Top picks" at each retrain.
// Eval is the command "streamflix reco eval" built on these.
package model
