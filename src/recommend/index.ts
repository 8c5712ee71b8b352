/**
 * Treatment recommendation: a LightFM-style hybrid recommender (patients and drugs described by
 * features, so a new admission with known diagnoses gets recommendations), its baselines, held-out
 * ranking metrics, the MIMIC-III mapping and the ONNX graph it is served as.
 */
export { ITEM_IDENTITY_PREFIX, buildRecommenderDataset, withPositives } from './interactions.js';
export type {
  DatasetOptions,
  InteractionRow,
  ItemFeatureRow,
  RecommenderDataset,
  RecommenderInput,
  UserFeatureRow,
  UserPositives,
  WeightedFeatures,
} from './interactions.js';
export { splitColdStartUsers, splitInteractions } from './split.js';
export type { ColdStartSplitOptions, RecommenderSplit, RecommenderSplitOptions } from './split.js';
export { trainHybridRecommender } from './train.js';
export type { HybridTrainingOptions } from './train.js';
export { scoreDatasetUser, scoreFeatureRows, scoreFeatures } from './model.js';
export type { HybridHyperParameters, HybridRecommenderModel, NamedFeature, RankingLoss } from './model.js';
export { fitItemKnn, itemKnnScores, popularityScores } from './baselines.js';
export type { ItemKnn, ItemKnnScores } from './baselines.js';
export { DEFAULT_KS, evaluateRanking, poolEvaluations, rankUser, rankingTable } from './ranking-metrics.js';
export type { RankingAtK, RankingEvaluation, UserRanking } from './ranking-metrics.js';
export { recommenderGraph } from './graph.js';
export type { RecommenderGraph, RecommenderGraphOptions } from './graph.js';
export { AGE_BANDS, drugName, mimicRecommenderRows, parseMimicTables, tableRecords } from './mimic.js';
export type {
  MimicCsvFiles,
  MimicRecommenderOptions,
  MimicRecommenderRows,
  MimicRecommenderTables,
  TableRecord,
} from './mimic.js';
export { RANKING_METADATA_KEY, parseContraindications, rankingSpecOf } from './ranking-spec.js';
export { RECOMMEND_LIMITS, RecommendService } from './recommend-service.js';
export type {
  PatientAnswer,
  PatientRequest,
  RankingModels,
  RecommendAnswer,
  RecommendRequest,
  Recommendation,
} from './recommend-service.js';
