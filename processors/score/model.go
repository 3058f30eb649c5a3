// Package score is the compute-heavy stage of Sluice: it rates each validated
// order's fraud risk with a tree-ensemble model and passes it on to decide.
//
// There is no trained model yet. NewModel grows a gradient-boosted-trees-like
// ensemble from a seed instead, biased so that it behaves like a plausible
// fraud model (see riskDirection), with a per-record cost that scales with
// the number of trees. That makes the stage a realistic load for the
// runtime's concurrency and back-pressure, and its output reproducible: the
// same seed and size always give the same score for the same order.
package score

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Default model size: 0.25-0.4 ms per Score on a 2-vCPU AMD EPYC machine
// (BenchmarkScore), about 4.5 MB of trees; the cost of a large production
// ensemble. Cost is linear in trees until the ensemble outgrows the cache.
const (
	DefaultSeed  = 1
	DefaultTrees = 6000
	DefaultDepth = 6
)

// maxDepth bounds the tree size: 2^20 leaves per tree is already absurd.
const maxDepth = 20

// Model is a fixed ensemble of complete binary decision trees. It is
// immutable after NewModel and safe for concurrent use.
type Model struct {
	seed         int64
	trees, depth int
	version      string
	// nodes holds each tree's internal nodes breadth-first, tree after tree:
	// node i's children are 2i+1 and 2i+2, as in a binary heap.
	nodes []node
	// leaves holds each tree's leaf values, left to right, tree after tree.
	leaves []float32
}

// node is one split: go right when x[feature] >= threshold. float32 keeps a
// node in 8 bytes so that more of the ensemble stays in cache.
type node struct {
	threshold float32
	feature   uint32
}

// Calibration of the logit: with leaves averaging about -0.3 for an everyday
// domestic web order and +0.3 for a large, round, cross-border, night-time
// API order, these put the two near 0.05 and 0.95.
const (
	logitBias  = 0.0
	logitScale = 10.0
	leafNoise  = 0.3
)

// NewModel grows an ensemble of trees complete trees of the given depth from
// seed. Cost and memory grow linearly with trees (about 8·2^depth bytes
// each) and Score's cost with trees·depth. It panics if trees < 1 or depth is
// outside [1, 20]: the size is configuration, to be checked where it is read.
func NewModel(seed int64, trees, depth int) *Model {
	if trees < 1 || depth < 1 || depth > maxDepth {
		panic(fmt.Sprintf("score.NewModel: trees %d, depth %d: want trees >= 1 and 1 <= depth <= %d", trees, depth, maxDepth))
	}
	internal, leaves := 1<<depth-1, 1<<depth
	m := &Model{
		seed:    seed,
		trees:   trees,
		depth:   depth,
		version: fmt.Sprintf("gbt-s%d-t%d-d%d", seed, trees, depth),
		nodes:   make([]node, trees*internal),
		leaves:  make([]float32, trees*leaves),
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	for t := range trees {
		tree := m.nodes[t*internal : (t+1)*internal]
		for i := range tree {
			tree[i] = node{threshold: rng.Float32(), feature: uint32(rng.IntN(NumFeatures))}
		}
		for l := range leaves {
			m.leaves[t*leaves+l] = float32(pathRisk(tree, l, depth) + leafNoise*rng.NormFloat64())
		}
	}
	return m
}

// pathRisk is the mean risk direction of the splits on the way to leaf l:
// going right on a risky feature (a high value) counts +1 times its weight,
// going left -1. This is what gradient boosting would learn if riskDirection
// were the truth.
func pathRisk(tree []node, l, depth int) float64 {
	var sum float64
	i := 0
	for level := range depth {
		right := l>>(depth-1-level)&1 == 1
		dir := riskDirection[tree[i].feature]
		if right {
			sum += dir
			i = 2*i + 2
		} else {
			sum -= dir
			i = 2*i + 1
		}
	}
	return sum / float64(depth)
}

// Score returns the fraud risk of an order with features f, between 0 (safe)
// and 1 (certain fraud): the logistic function of the mean leaf value.
func (m *Model) Score(f Features) float64 {
	var x [NumFeatures]float32
	for i, v := range f {
		x[i] = float32(v)
	}
	internal, leaves := 1<<m.depth-1, 1<<m.depth
	var sum float64
	for t := range m.trees {
		tree := m.nodes[t*internal : (t+1)*internal]
		i := 0
		for range m.depth {
			n := tree[i]
			if x[n.feature] >= n.threshold {
				i = 2*i + 2
			} else {
				i = 2*i + 1
			}
		}
		sum += float64(m.leaves[t*leaves+i-internal])
	}
	logit := logitBias + logitScale*sum/float64(m.trees)
	return 1 / (1 + math.Exp(-logit))
}

// Version names the model for OrderScored.model_version:
// "gbt-s<seed>-t<trees>-d<depth>". Two models with the same version score
// every order the same.
func (m *Model) Version() string {
	return m.version
}
