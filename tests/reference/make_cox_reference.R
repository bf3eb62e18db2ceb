# Reference results for earlyphase.stats.cox_ph, computed by R's survival package.
#
# Run from the repository root:   Rscript tests/reference/make_cox_reference.R
# Writes tests/reference/data/cox_<case>.json, one file per case, each holding the input data,
# the exact R calls, the R and survival versions and the results (coxph, cox.zph(transform="km")).
# CI does not need R: the tests read these files.

suppressPackageStartupMessages(library(survival))

outdir <- file.path("tests", "reference", "data")
dir.create(outdir, recursive = TRUE, showWarnings = FALSE)

# --- a minimal JSON writer (jsonlite is not installed here); numbers keep 17 significant digits
num <- function(x) {
  ifelse(is.na(x), "null",
         ifelse(is.infinite(x), ifelse(x > 0, "1e308", "-1e308"), sprintf("%.17g", x)))
}
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      parts <- mapply(function(k, v) paste0('"', k, '": ', to_json(v)), names(x), x)
      return(paste0("{", paste(parts, collapse = ", "), "}"))
    }
    return(paste0("[", paste(sapply(x, to_json), collapse = ", "), "]"))
  }
  if (is.matrix(x)) {
    rows <- lapply(seq_len(nrow(x)), function(i) x[i, ])
    return(paste0("[", paste(sapply(rows, function(r) to_json(as.numeric(r))), collapse = ", "), "]"))
  }
  if (is.character(x) || is.factor(x)) {
    s <- gsub('"', '\\\\"', as.character(x))
    return(paste0("[", paste0('"', s, '"', collapse = ", "), "]"))
  }
  if (is.logical(x)) x <- as.numeric(x)
  paste0("[", paste(num(as.numeric(x)), collapse = ", "), "]")
}

chisq <- function(stat, df) unname(c(stat, df, pchisq(stat, df, lower.tail = FALSE)))

versions <- list(r_version = R.version.string,
                 survival_version = as.character(packageVersion("survival")))

run_case <- function(name, data, formula_text, ties, robust = FALSE, weights = NULL,
                     covariates, categorical = character(0), strata = NULL, entry = NULL,
                     one_cluster_per_row = FALSE) {
  fml <- as.formula(formula_text)
  call_text <- sprintf("coxph(%s, data = d, ties = \"%s\"%s%s)", formula_text, ties,
                       if (robust) ", robust = TRUE" else "",
                       if (!is.null(weights)) sprintf(", weights = %s", weights) else "")
  d <- data
  if (one_cluster_per_row) {
    # survival 3.x wants an id for robust counting-process fits; one id per row gives the
    # per-observation sandwich, the same as robust = TRUE on right-censored data
    d$id <- seq_len(nrow(d))
    call_text <- sub(")$", ", cluster = id)", call_text)
    fit <- coxph(fml, data = d, ties = ties, robust = robust, cluster = id)
  } else if (is.null(weights)) {
    fit <- coxph(fml, data = d, ties = ties, robust = robust)
  } else {
    d$.w <- d[[weights]]
    fit <- coxph(fml, data = d, ties = ties, robust = robust, weights = .w)
  }
  zph <- cox.zph(fit, transform = "km")
  s <- summary(fit)
  naive <- if (robust) fit$naive.var else fit$var
  res <- list(
    names = names(coef(fit)),
    coef = unname(coef(fit)),
    se = unname(sqrt(diag(naive))),
    robust_se = if (robust) unname(sqrt(diag(fit$var))) else NULL,
    var = unname(fit$var),
    naive_var = unname(naive),
    loglik = fit$loglik,
    iter = fit$iter,
    # unrounded statistics straight from the fit (summary() rounds the Wald statistic)
    likelihood_ratio = chisq(2 * diff(fit$loglik), length(coef(fit))),
    wald = chisq(fit$wald.test, length(coef(fit))),
    score = chisq(fit$score, length(coef(fit))),
    robust_score = if (robust) chisq(fit$rscore, length(coef(fit))) else NULL,
    z = unname(s$coefficients[, "z"]),
    p_value = unname(s$coefficients[, "Pr(>|z|)"]),
    hr_lower = unname(s$conf.int[, "lower .95"]),
    hr_upper = unname(s$conf.int[, "upper .95"]),
    concordance = unname(fit$concordance["concordance"]),
    concordance_se = unname(fit$concordance["std"]),
    concordance_counts = unname(fit$concordance[c("concordant", "discordant", "tied.x", "tied.y", "tied.xy")]),
    zph_terms = rownames(zph$table),
    zph_chisq = unname(zph$table[, "chisq"]),
    zph_df = unname(zph$table[, "df"]),
    zph_p = unname(zph$table[, "p"])
  )
  cols <- unique(c("time", "event", covariates, strata, entry, weights))
  input <- lapply(cols, function(cn) d[[cn]])
  names(input) <- cols
  out <- c(versions, list(
    case = name,
    calls = c(call_text, "cox.zph(fit, transform = \"km\")"),
    ties = ties, robust = robust,
    covariates = covariates, categorical = categorical,
    strata = strata, entry = entry, weights = weights,
    data = input, result = res))
  # scalars that must stay scalars in JSON
  out$r_version <- versions$r_version
  js <- to_json(out)
  # unwrap one-element arrays of the fields that are scalars by meaning
  for (k in c("r_version", "survival_version", "case", "ties", "robust", "strata", "entry", "weights")) {
    js <- sub(sprintf('"%s": \\[([^],]*)\\]', k), sprintf('"%s": \\1', k), js)
  }
  writeLines(js, file.path(outdir, sprintf("cox_%s.json", name)))
  cat("wrote", name, "\n")
}

# --- the seed trial's shape: four ordered groups of 3, 5, 6, 4 patients, months rounded to 0.1
set.seed(20260101)
seed <- data.frame(group = rep(c("A", "B", "C", "D"), c(3, 5, 6, 4)))
rate <- c(A = 0.45, B = 0.3, C = 0.15, D = 0.1)[seed$group]
seed$time <- round(rexp(18, rate), 1)
seed$time[c(4, 9)] <- seed$time[c(3, 8)]          # force a few tied times
seed$event <- rbinom(18, 1, 0.85)
seed$event[c(3, 4)] <- 1
seed$age <- round(rnorm(18, 55, 9))
run_case("seed_efron", seed, "Surv(time, event) ~ group + age", "efron",
         covariates = c("group", "age"), categorical = "group")
run_case("seed_breslow", seed, "Surv(time, event) ~ group + age", "breslow",
         covariates = c("group", "age"), categorical = "group")
run_case("seed_group_only", seed, "Surv(time, event) ~ group", "efron",
         covariates = c("group"), categorical = "group")

# --- lung cancer data shipped with survival (NCCTG); integer days, many ties
lung2 <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog", "wt.loss", "inst")])
lung2$event <- as.numeric(lung2$status == 2)
lung2$sex <- ifelse(lung2$sex == 1, "male", "female")
lung2$ecog <- as.character(lung2$ph.ecog)
lung2$site <- ifelse(lung2$inst <= 11, "low", "high")
run_case("lung_efron", lung2, "Surv(time, event) ~ age + sex + ecog + wt.loss", "efron",
         covariates = c("age", "sex", "ecog", "wt.loss"), categorical = c("sex", "ecog"))
run_case("lung_breslow", lung2, "Surv(time, event) ~ age + sex + ecog + wt.loss", "breslow",
         covariates = c("age", "sex", "ecog", "wt.loss"), categorical = c("sex", "ecog"))
run_case("lung_strata", lung2, "Surv(time, event) ~ age + wt.loss + ecog + strata(sex)", "efron",
         covariates = c("age", "wt.loss", "ecog"), categorical = "ecog", strata = "sex")
run_case("lung_robust", lung2, "Surv(time, event) ~ age + sex + wt.loss", "efron", robust = TRUE,
         covariates = c("age", "sex", "wt.loss"), categorical = "sex")
run_case("lung_robust_breslow_strata", lung2, "Surv(time, event) ~ age + wt.loss + strata(site)", "breslow",
         robust = TRUE, covariates = c("age", "wt.loss"), strata = "site")

# --- untied continuous times, two continuous covariates and a binary one
set.seed(7)
n <- 150
u <- data.frame(x1 = rnorm(n), x2 = runif(n, 0, 3), trt = sample(c("control", "active"), n, TRUE))
lp <- 0.5 * u$x1 - 0.3 * u$x2 + 0.7 * (u$trt == "active")
u$time <- rexp(n, exp(lp) * 0.1)
cens <- rexp(n, 0.05)
u$event <- as.numeric(u$time <= cens)
u$time <- pmin(u$time, cens)
u$wt <- round(runif(n, 0.5, 3), 3)
run_case("untied_efron", u, "Surv(time, event) ~ x1 + x2 + trt", "efron",
         covariates = c("x1", "x2", "trt"), categorical = "trt")
run_case("untied_breslow", u, "Surv(time, event) ~ x1 + x2 + trt", "breslow",
         covariates = c("x1", "x2", "trt"), categorical = "trt")
run_case("weights_efron", u, "Surv(time, event) ~ x1 + x2 + trt", "efron", weights = "wt",
         covariates = c("x1", "x2", "trt"), categorical = "trt")
run_case("weights_robust_breslow", u, "Surv(time, event) ~ x1 + trt", "breslow", weights = "wt",
         robust = TRUE, covariates = c("x1", "trt"), categorical = "trt")

# --- heavy ties (times on a coarse grid), weights and strata together
set.seed(11)
n <- 120
h <- data.frame(x = rnorm(n), grp = sample(c("a", "b", "c"), n, TRUE), st = sample(c("s1", "s2"), n, TRUE))
h$time <- ceiling(rexp(n, exp(0.4 * h$x) * 0.3))
h$event <- rbinom(n, 1, 0.7)
h$wt <- as.numeric(sample(1:3, n, TRUE))  # cox.zph needs double weights
run_case("ties_strata_weights_efron", h, "Surv(time, event) ~ x + grp + strata(st)", "efron",
         weights = "wt", covariates = c("x", "grp"), categorical = "grp", strata = "st")
run_case("ties_strata_weights_breslow", h, "Surv(time, event) ~ x + grp + strata(st)", "breslow",
         weights = "wt", covariates = c("x", "grp"), categorical = "grp", strata = "st")
run_case("ties_robust_efron", h, "Surv(time, event) ~ x + grp", "efron", robust = TRUE,
         covariates = c("x", "grp"), categorical = "grp")

# --- delayed entry (left truncation): counting-process data (entry, time]
set.seed(23)
n <- 100
g <- data.frame(x = rnorm(n), arm = sample(c("P", "Q"), n, TRUE))
g$entry <- round(runif(n, 0, 2), 1)
g$time <- round(g$entry + round(rexp(n, exp(0.5 * g$x) * 0.4), 1) + 0.1, 1)  # round: exact ties, no timefix merging
g$event <- rbinom(n, 1, 0.75)
run_case("entry_efron", g, "Surv(entry, time, event) ~ x + arm", "efron",
         covariates = c("x", "arm"), categorical = "arm", entry = "entry")
run_case("entry_breslow_robust", g, "Surv(entry, time, event) ~ x + arm", "breslow", robust = TRUE,
         covariates = c("x", "arm"), categorical = "arm", entry = "entry", one_cluster_per_row = TRUE)

# --- edge cases: a stratum with no events, a one-subject stratum, and every event at one time
set.seed(31)
n <- 40
k <- data.frame(x = round(rnorm(n), 2), arm = rep(c("A", "B"), 20))
k$time <- round(rexp(n, 0.2), 1) + 0.1
k$event <- rbinom(n, 1, 0.7)
k$st <- sample(c("s1", "s2"), n, TRUE)
k$st[1:4] <- "s0"; k$event[1:4] <- 0           # stratum s0: no events at all
k$st[5] <- "s9"                                 # stratum s9: one subject
run_case("edge_strata_efron", k, "Surv(time, event) ~ x + arm + strata(st)", "efron",
         covariates = c("x", "arm"), categorical = "arm", strata = "st")
k2 <- k
# every event at time 5 or 8: two big tied blocks (with one event time cox.zph is singular in R too)
k2$time <- ifelse(k2$event == 1, ifelse(seq_len(n) %% 2 == 0, 5, 8), k2$time)
run_case("edge_two_event_times_efron", k2, "Surv(time, event) ~ x + arm", "efron",
         covariates = c("x", "arm"), categorical = "arm")
run_case("edge_two_event_times_breslow_robust", k2, "Surv(time, event) ~ x + arm", "breslow", robust = TRUE,
         covariates = c("x", "arm"), categorical = "arm")

# --- R's own data sets as CSV (issue 10): the CLI reads tests/reference/data/datasets/*.csv as they are
source(file.path("tests", "reference", "r_datasets.R"))
rd <- r_datasets()
rdata_case <- function(name, fit, call, file, cli) {
  s <- summary(fit)
  res <- list(
    names = names(coef(fit)), coef = unname(coef(fit)),
    se = unname(sqrt(diag(if (is.null(fit$naive.var)) fit$var else fit$naive.var))),
    robust_se = if (is.null(fit$naive.var)) NULL else unname(sqrt(diag(fit$var))),
    loglik = fit$loglik, n = fit$n, nevent = fit$nevent, n_omitted = length(fit$na.action),
    wald = chisq(fit$wald.test, length(coef(fit))), score = chisq(fit$score, length(coef(fit))),
    robust_score = if (is.null(fit$rscore)) NULL else chisq(fit$rscore, length(coef(fit))),
    concordance = unname(fit$concordance["concordance"]), concordance_se = unname(fit$concordance["std"]),
    hr_lower = unname(s$conf.int[, "lower .95"]), hr_upper = unname(s$conf.int[, "upper .95"]))
  out <- c(versions, list(case = name, calls = call, file = file, cli = cli, result = res))
  js <- to_json(out)
  for (k in c("r_version", "survival_version", "case", "file")) {
    js <- sub(sprintf('"%s": \\[([^],]*)\\]', k), sprintf('"%s": \\1', k), js)
  }
  writeLines(js, file.path(outdir, sprintf("rdata_cox_%s.json", name)))
  cat("wrote", name, "\n")
}
rdata_case("lung_na", coxph(Surv(time, status) ~ age + sex + factor(ph.ecog) + wt.loss, data = rd$lung),
           "coxph(Surv(time, status) ~ age + sex + factor(ph.ecog) + wt.loss, data = lung)  # 15 rows with NA left out",
           "datasets/lung.csv", c("--event", "status", "--covariates", "age,sex,ph.ecog,wt.loss", "--categorical", "ph.ecog"))
rdata_case("veteran", coxph(Surv(time, status) ~ trt + celltype + karno, data = rd$veteran),
           "coxph(Surv(time, status) ~ trt + celltype + karno, data = veteran)  # celltype levels squamous, smallcell, adeno, large",
           "datasets/veteran.csv", c("--event", "status", "--covariates", "trt,celltype,karno",
                                     "--levels", "celltype=squamous,smallcell,adeno,large"))
rdata_case("retinopathy_cluster", coxph(Surv(futime, status) ~ type + trt + cluster(id), data = rd$retinopathy),
           "coxph(Surv(futime, status) ~ type + trt + cluster(id), data = retinopathy)  # type levels juvenile, adult",
           "datasets/retinopathy.csv", c("--event", "status", "--covariates", "type,trt", "--cluster", "id",
                                         "--levels", "type=juvenile,adult"))
rdata_case("pbc", coxph(Surv(time, status == 2) ~ age + bili + sex, data = rd$pbc),
           "coxph(Surv(time, status == 2) ~ age + bili + sex, data = pbc)  # sex levels m, f",
           "datasets/pbc.csv", c("--event", "status", "--event-value", "2", "--covariates", "age,bili,sex", "--levels", "sex=m,f"))
rdata_case("flchain_timefix", coxph(Surv(age, exit_age, death) ~ sex, data = rd$flchain_age),
           "coxph(Surv(age, exit_age, death) ~ sex, data = flchain_age)  # timefix = TRUE (default)",
           "datasets/flchain_age.csv", c("--time", "exit_age", "--entry", "age", "--event", "death", "--covariates", "sex"))
rdata_case("flchain_no_timefix", coxph(Surv(age, exit_age, death) ~ sex, data = rd$flchain_age, timefix = FALSE),
           "coxph(Surv(age, exit_age, death) ~ sex, data = flchain_age, timefix = FALSE)",
           "datasets/flchain_age.csv", c("--time", "exit_age", "--entry", "age", "--event", "death", "--covariates", "sex",
                                         "--no-timefix"))
