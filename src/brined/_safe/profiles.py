"""Named opt-in profiles: the globals that a library's own pickles name.

pandas, scipy.sparse and scikit-learn write their objects with their own
internals (``pandas._libs.internals._unpickle_block``, ``BlockManager``, every
estimator class, Cython types' unpickle helpers).  A profile lists those names
so one ``allow=brined.profiles.PANDAS`` loads them, and nothing else of the
library: functions that read files or reach the network (``pandas.read_*``,
``sklearn.datasets.fetch_*``) are in no profile.

The tables start from ``tools/profile_names.py`` (the names that pickling the
objects in tests/profile_objects.py writes, at protocols 0-5), widened to the
library's public data types (pandas' dtypes, arrays, indexes and offsets;
every scikit-learn estimator class); tests/test_profiles.py loads those objects
under each profile.  Why each profile is safe, or not quite, is in
docs/security.md ("Profiles").
"""

from __future__ import annotations

from typing import Final

__all__ = ["PACKAGE_PROFILES", "PROFILES", "profile_of"]

_PANDAS: Final = """
pandas._libs.arrays:__pyx_unpickle_NDArrayBacked
pandas._libs.internals:_unpickle_block
pandas._libs.interval:__pyx_unpickle_IntervalMixin
pandas._libs.sparse:IntIndex
pandas._libs.tslibs.nattype:_nat_unpickle
pandas._libs.tslibs.offsets:BHalfYearBegin
pandas._libs.tslibs.offsets:BHalfYearEnd
pandas._libs.tslibs.offsets:BQuarterBegin
pandas._libs.tslibs.offsets:BQuarterEnd
pandas._libs.tslibs.offsets:BYearBegin
pandas._libs.tslibs.offsets:BYearEnd
pandas._libs.tslibs.offsets:BaseOffset
pandas._libs.tslibs.offsets:BusinessDay
pandas._libs.tslibs.offsets:BusinessHour
pandas._libs.tslibs.offsets:BusinessMonthBegin
pandas._libs.tslibs.offsets:BusinessMonthEnd
pandas._libs.tslibs.offsets:CustomBusinessDay
pandas._libs.tslibs.offsets:CustomBusinessHour
pandas._libs.tslibs.offsets:CustomBusinessMonthBegin
pandas._libs.tslibs.offsets:CustomBusinessMonthEnd
pandas._libs.tslibs.offsets:Day
pandas._libs.tslibs.offsets:Easter
pandas._libs.tslibs.offsets:FY5253
pandas._libs.tslibs.offsets:FY5253Quarter
pandas._libs.tslibs.offsets:HalfYearBegin
pandas._libs.tslibs.offsets:HalfYearEnd
pandas._libs.tslibs.offsets:Hour
pandas._libs.tslibs.offsets:LastWeekOfMonth
pandas._libs.tslibs.offsets:Micro
pandas._libs.tslibs.offsets:Milli
pandas._libs.tslibs.offsets:Minute
pandas._libs.tslibs.offsets:MonthBegin
pandas._libs.tslibs.offsets:MonthEnd
pandas._libs.tslibs.offsets:Nano
pandas._libs.tslibs.offsets:QuarterBegin
pandas._libs.tslibs.offsets:QuarterEnd
pandas._libs.tslibs.offsets:Second
pandas._libs.tslibs.offsets:SemiMonthBegin
pandas._libs.tslibs.offsets:SemiMonthEnd
pandas._libs.tslibs.offsets:Tick
pandas._libs.tslibs.offsets:Week
pandas._libs.tslibs.offsets:WeekOfMonth
pandas._libs.tslibs.offsets:YearBegin
pandas._libs.tslibs.offsets:YearEnd
pandas._libs.tslibs.timedeltas:_timedelta_unpickle
pandas._libs.tslibs.timestamps:_unpickle_timestamp
pandas.arrays:ArrowExtensionArray
pandas.arrays:ArrowStringArray
pandas.arrays:BooleanArray
pandas.arrays:Categorical
pandas.arrays:DatetimeArray
pandas.arrays:FloatingArray
pandas.arrays:IntegerArray
pandas.arrays:IntervalArray
pandas.arrays:NumpyExtensionArray
pandas.arrays:PeriodArray
pandas.arrays:SparseArray
pandas.arrays:StringArray
pandas.arrays:TimedeltaArray
pandas.core.indexes.base:_new_Index
pandas.core.indexes.datetimes:_new_DatetimeIndex
pandas.core.indexes.interval:_new_IntervalIndex
pandas.core.indexes.timedeltas:_new_TimedeltaIndex
pandas.core.internals.managers:BlockManager
pandas.core.internals.managers:SingleBlockManager
pandas:ArrowDtype
pandas:BooleanDtype
pandas:Categorical
pandas:CategoricalDtype
pandas:CategoricalIndex
pandas:DataFrame
pandas:DateOffset
pandas:DatetimeIndex
pandas:DatetimeTZDtype
pandas:Flags
pandas:Float32Dtype
pandas:Float64Dtype
pandas:Index
pandas:Int16Dtype
pandas:Int32Dtype
pandas:Int64Dtype
pandas:Int8Dtype
pandas:Interval
pandas:IntervalDtype
pandas:IntervalIndex
pandas:MultiIndex
pandas:NA
pandas:NamedAgg
pandas:Period
pandas:PeriodDtype
pandas:PeriodIndex
pandas:RangeIndex
pandas:Series
pandas:SparseDtype
pandas:StringDtype
pandas:Timedelta
pandas:TimedeltaIndex
pandas:Timestamp
pandas:UInt16Dtype
pandas:UInt32Dtype
pandas:UInt64Dtype
pandas:UInt8Dtype
"""

_SCIPY_SPARSE: Final = """
scipy.sparse._bsr:bsr_array
scipy.sparse._bsr:bsr_matrix
scipy.sparse._coo:coo_array
scipy.sparse._coo:coo_matrix
scipy.sparse._csc:csc_array
scipy.sparse._csc:csc_matrix
scipy.sparse._csr:csr_array
scipy.sparse._csr:csr_matrix
scipy.sparse._dia:dia_array
scipy.sparse._dia:dia_matrix
scipy.sparse._dok:dok_array
scipy.sparse._dok:dok_matrix
scipy.sparse._lil:lil_array
scipy.sparse._lil:lil_matrix
"""

_SKLEARN: Final = """
numpy.random._mt19937:MT19937
numpy.random._pcg64:PCG64
numpy.random._pickle:__bit_generator_ctor
numpy.random._pickle:__generator_ctor
numpy.random._pickle:__randomstate_ctor
numpy.random.bit_generator:SeedSequence
numpy.random.bit_generator:__pyx_unpickle_SeedSequence
sklearn._loss._loss:CyHalfBinomialLoss
sklearn._loss._loss:CyHalfSquaredError
sklearn._loss.link:IdentityLink
sklearn._loss.link:Interval
sklearn._loss.link:LogitLink
sklearn._loss.loss:HalfBinomialLoss
sklearn._loss.loss:HalfSquaredError
sklearn.calibration:CalibratedClassifierCV
sklearn.cluster._affinity_propagation:AffinityPropagation
sklearn.cluster._agglomerative:AgglomerativeClustering
sklearn.cluster._agglomerative:FeatureAgglomeration
sklearn.cluster._bicluster:SpectralBiclustering
sklearn.cluster._bicluster:SpectralCoclustering
sklearn.cluster._birch:Birch
sklearn.cluster._bisect_k_means:BisectingKMeans
sklearn.cluster._dbscan:DBSCAN
sklearn.cluster._hdbscan.hdbscan:HDBSCAN
sklearn.cluster._kmeans:KMeans
sklearn.cluster._kmeans:MiniBatchKMeans
sklearn.cluster._mean_shift:MeanShift
sklearn.cluster._optics:OPTICS
sklearn.cluster._spectral:SpectralClustering
sklearn.compose._column_transformer:ColumnTransformer
sklearn.compose._target:TransformedTargetRegressor
sklearn.covariance._elliptic_envelope:EllipticEnvelope
sklearn.covariance._empirical_covariance:EmpiricalCovariance
sklearn.covariance._graph_lasso:GraphicalLasso
sklearn.covariance._graph_lasso:GraphicalLassoCV
sklearn.covariance._robust_covariance:MinCovDet
sklearn.covariance._shrunk_covariance:LedoitWolf
sklearn.covariance._shrunk_covariance:OAS
sklearn.covariance._shrunk_covariance:ShrunkCovariance
sklearn.cross_decomposition._pls:CCA
sklearn.cross_decomposition._pls:PLSCanonical
sklearn.cross_decomposition._pls:PLSRegression
sklearn.cross_decomposition._pls:PLSSVD
sklearn.decomposition._dict_learning:DictionaryLearning
sklearn.decomposition._dict_learning:MiniBatchDictionaryLearning
sklearn.decomposition._dict_learning:SparseCoder
sklearn.decomposition._factor_analysis:FactorAnalysis
sklearn.decomposition._fastica:FastICA
sklearn.decomposition._incremental_pca:IncrementalPCA
sklearn.decomposition._kernel_pca:KernelPCA
sklearn.decomposition._lda:LatentDirichletAllocation
sklearn.decomposition._nmf:MiniBatchNMF
sklearn.decomposition._nmf:NMF
sklearn.decomposition._pca:PCA
sklearn.decomposition._sparse_pca:MiniBatchSparsePCA
sklearn.decomposition._sparse_pca:SparsePCA
sklearn.decomposition._truncated_svd:TruncatedSVD
sklearn.discriminant_analysis:LinearDiscriminantAnalysis
sklearn.discriminant_analysis:QuadraticDiscriminantAnalysis
sklearn.dummy:DummyClassifier
sklearn.dummy:DummyRegressor
sklearn.ensemble._bagging:BaggingClassifier
sklearn.ensemble._bagging:BaggingRegressor
sklearn.ensemble._forest:ExtraTreesClassifier
sklearn.ensemble._forest:ExtraTreesRegressor
sklearn.ensemble._forest:RandomForestClassifier
sklearn.ensemble._forest:RandomForestRegressor
sklearn.ensemble._forest:RandomTreesEmbedding
sklearn.ensemble._gb:GradientBoostingClassifier
sklearn.ensemble._gb:GradientBoostingRegressor
sklearn.ensemble._hist_gradient_boosting.binning:_BinMapper
sklearn.ensemble._hist_gradient_boosting.gradient_boosting:HistGradientBoostingClassifier
sklearn.ensemble._hist_gradient_boosting.gradient_boosting:HistGradientBoostingRegressor
sklearn.ensemble._hist_gradient_boosting.predictor:TreePredictor
sklearn.ensemble._iforest:IsolationForest
sklearn.ensemble._stacking:StackingClassifier
sklearn.ensemble._stacking:StackingRegressor
sklearn.ensemble._voting:VotingClassifier
sklearn.ensemble._voting:VotingRegressor
sklearn.ensemble._weight_boosting:AdaBoostClassifier
sklearn.ensemble._weight_boosting:AdaBoostRegressor
sklearn.feature_extraction._dict_vectorizer:DictVectorizer
sklearn.feature_extraction._hash:FeatureHasher
sklearn.feature_extraction.image:PatchExtractor
sklearn.feature_extraction.text:CountVectorizer
sklearn.feature_extraction.text:HashingVectorizer
sklearn.feature_extraction.text:TfidfTransformer
sklearn.feature_extraction.text:TfidfVectorizer
sklearn.feature_selection._from_model:SelectFromModel
sklearn.feature_selection._rfe:RFE
sklearn.feature_selection._rfe:RFECV
sklearn.feature_selection._sequential:SequentialFeatureSelector
sklearn.feature_selection._univariate_selection:GenericUnivariateSelect
sklearn.feature_selection._univariate_selection:SelectFdr
sklearn.feature_selection._univariate_selection:SelectFpr
sklearn.feature_selection._univariate_selection:SelectFwe
sklearn.feature_selection._univariate_selection:SelectKBest
sklearn.feature_selection._univariate_selection:SelectPercentile
sklearn.feature_selection._variance_threshold:VarianceThreshold
sklearn.frozen._frozen:FrozenEstimator
sklearn.gaussian_process._gpc:GaussianProcessClassifier
sklearn.gaussian_process._gpr:GaussianProcessRegressor
sklearn.impute._base:MissingIndicator
sklearn.impute._base:SimpleImputer
sklearn.impute._knn:KNNImputer
sklearn.isotonic:IsotonicRegression
sklearn.kernel_approximation:AdditiveChi2Sampler
sklearn.kernel_approximation:Nystroem
sklearn.kernel_approximation:PolynomialCountSketch
sklearn.kernel_approximation:RBFSampler
sklearn.kernel_approximation:SkewedChi2Sampler
sklearn.kernel_ridge:KernelRidge
sklearn.linear_model._base:LinearRegression
sklearn.linear_model._bayes:ARDRegression
sklearn.linear_model._bayes:BayesianRidge
sklearn.linear_model._coordinate_descent:ElasticNet
sklearn.linear_model._coordinate_descent:ElasticNetCV
sklearn.linear_model._coordinate_descent:Lasso
sklearn.linear_model._coordinate_descent:LassoCV
sklearn.linear_model._coordinate_descent:MultiTaskElasticNet
sklearn.linear_model._coordinate_descent:MultiTaskElasticNetCV
sklearn.linear_model._coordinate_descent:MultiTaskLasso
sklearn.linear_model._coordinate_descent:MultiTaskLassoCV
sklearn.linear_model._glm.glm:GammaRegressor
sklearn.linear_model._glm.glm:PoissonRegressor
sklearn.linear_model._glm.glm:TweedieRegressor
sklearn.linear_model._huber:HuberRegressor
sklearn.linear_model._least_angle:Lars
sklearn.linear_model._least_angle:LarsCV
sklearn.linear_model._least_angle:LassoLars
sklearn.linear_model._least_angle:LassoLarsCV
sklearn.linear_model._least_angle:LassoLarsIC
sklearn.linear_model._logistic:LogisticRegression
sklearn.linear_model._logistic:LogisticRegressionCV
sklearn.linear_model._omp:OrthogonalMatchingPursuit
sklearn.linear_model._omp:OrthogonalMatchingPursuitCV
sklearn.linear_model._passive_aggressive:PassiveAggressiveClassifier
sklearn.linear_model._passive_aggressive:PassiveAggressiveRegressor
sklearn.linear_model._perceptron:Perceptron
sklearn.linear_model._quantile:QuantileRegressor
sklearn.linear_model._ransac:RANSACRegressor
sklearn.linear_model._ridge:Ridge
sklearn.linear_model._ridge:RidgeCV
sklearn.linear_model._ridge:RidgeClassifier
sklearn.linear_model._ridge:RidgeClassifierCV
sklearn.linear_model._stochastic_gradient:SGDClassifier
sklearn.linear_model._stochastic_gradient:SGDOneClassSVM
sklearn.linear_model._stochastic_gradient:SGDRegressor
sklearn.linear_model._theil_sen:TheilSenRegressor
sklearn.manifold._classical_mds:ClassicalMDS
sklearn.manifold._isomap:Isomap
sklearn.manifold._locally_linear:LocallyLinearEmbedding
sklearn.manifold._mds:MDS
sklearn.manifold._spectral_embedding:SpectralEmbedding
sklearn.manifold._t_sne:TSNE
sklearn.metrics._dist_metrics:EuclideanDistance64
sklearn.metrics._dist_metrics:newObj
sklearn.mixture._bayesian_mixture:BayesianGaussianMixture
sklearn.mixture._gaussian_mixture:GaussianMixture
sklearn.model_selection._classification_threshold:FixedThresholdClassifier
sklearn.model_selection._classification_threshold:TunedThresholdClassifierCV
sklearn.model_selection._search:GridSearchCV
sklearn.model_selection._search:RandomizedSearchCV
sklearn.multiclass:OneVsOneClassifier
sklearn.multiclass:OneVsRestClassifier
sklearn.multiclass:OutputCodeClassifier
sklearn.multioutput:ClassifierChain
sklearn.multioutput:MultiOutputClassifier
sklearn.multioutput:MultiOutputRegressor
sklearn.multioutput:RegressorChain
sklearn.naive_bayes:BernoulliNB
sklearn.naive_bayes:CategoricalNB
sklearn.naive_bayes:ComplementNB
sklearn.naive_bayes:GaussianNB
sklearn.naive_bayes:MultinomialNB
sklearn.neighbors._classification:KNeighborsClassifier
sklearn.neighbors._classification:RadiusNeighborsClassifier
sklearn.neighbors._graph:KNeighborsTransformer
sklearn.neighbors._graph:RadiusNeighborsTransformer
sklearn.neighbors._kd_tree:KDTree
sklearn.neighbors._kd_tree:newObj
sklearn.neighbors._kde:KernelDensity
sklearn.neighbors._lof:LocalOutlierFactor
sklearn.neighbors._nca:NeighborhoodComponentsAnalysis
sklearn.neighbors._nearest_centroid:NearestCentroid
sklearn.neighbors._regression:KNeighborsRegressor
sklearn.neighbors._regression:RadiusNeighborsRegressor
sklearn.neighbors._unsupervised:NearestNeighbors
sklearn.neural_network._multilayer_perceptron:MLPClassifier
sklearn.neural_network._multilayer_perceptron:MLPRegressor
sklearn.neural_network._rbm:BernoulliRBM
sklearn.pipeline:FeatureUnion
sklearn.pipeline:Pipeline
sklearn.preprocessing._data:Binarizer
sklearn.preprocessing._data:KernelCenterer
sklearn.preprocessing._data:MaxAbsScaler
sklearn.preprocessing._data:MinMaxScaler
sklearn.preprocessing._data:Normalizer
sklearn.preprocessing._data:PowerTransformer
sklearn.preprocessing._data:QuantileTransformer
sklearn.preprocessing._data:RobustScaler
sklearn.preprocessing._data:StandardScaler
sklearn.preprocessing._discretization:KBinsDiscretizer
sklearn.preprocessing._encoders:OneHotEncoder
sklearn.preprocessing._encoders:OrdinalEncoder
sklearn.preprocessing._function_transformer:FunctionTransformer
sklearn.preprocessing._label:LabelBinarizer
sklearn.preprocessing._label:LabelEncoder
sklearn.preprocessing._label:MultiLabelBinarizer
sklearn.preprocessing._polynomial:PolynomialFeatures
sklearn.preprocessing._polynomial:SplineTransformer
sklearn.preprocessing._target_encoder:TargetEncoder
sklearn.random_projection:GaussianRandomProjection
sklearn.random_projection:SparseRandomProjection
sklearn.semi_supervised._label_propagation:LabelPropagation
sklearn.semi_supervised._label_propagation:LabelSpreading
sklearn.semi_supervised._self_training:SelfTrainingClassifier
sklearn.svm._classes:LinearSVC
sklearn.svm._classes:LinearSVR
sklearn.svm._classes:NuSVC
sklearn.svm._classes:NuSVR
sklearn.svm._classes:OneClassSVM
sklearn.svm._classes:SVC
sklearn.svm._classes:SVR
sklearn.tree._classes:DecisionTreeClassifier
sklearn.tree._classes:DecisionTreeRegressor
sklearn.tree._classes:ExtraTreeClassifier
sklearn.tree._classes:ExtraTreeRegressor
sklearn.tree._tree:Tree
"""


def _pairs(table: str) -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for line in table.split():
        module, _, name = line.partition(":")
        pairs.add((module, name))
    return frozenset(pairs)


# Profile name (the attribute of brined.profiles) -> its exact names.
PROFILES: Final[dict[str, frozenset[tuple[str, str]]]] = {
    "PANDAS": _pairs(_PANDAS),
    "SCIPY_SPARSE": _pairs(_SCIPY_SPARSE),
    "SKLEARN": _pairs(_SKLEARN),
}

# Top-level package -> the profile that covers its pickles, for refusals.
PACKAGE_PROFILES: Final[dict[str, str]] = {
    "pandas": "PANDAS",
    "scipy": "SCIPY_SPARSE",
    "sklearn": "SKLEARN",
}


def profile_of(module: str, name: str) -> tuple[str, bool] | None:
    """The profile for a library's global: (profile name, whether it lists it).

    None when no profile covers the module's top-level package.
    """
    profile = PACKAGE_PROFILES.get(module.partition(".")[0])
    if profile is None:
        for key, names in PROFILES.items():
            if (module, name) in names:
                return key, True
        return None
    return profile, (module, name) in PROFILES[profile]
