// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ICollateralManager} from "../../src/interfaces/ICollateralManager.sol";

/// @notice Drives a CollateralManager through random loans, reports and disposal steps, by the right actor most of
/// the time and by a wrong one sometimes, and records every case move it observes by reading each case's state
/// after each call (no call can move one case twice, so consecutive reads see every move). Valuations come from
/// three price oracle members under a valuation policy governance changes now and then; after each accepted report
/// the handler recomputes the median of the fresh observations it made itself and counts every disagreement with
/// what the contract published (or did not publish).
contract CollateralHandler is Test {
    /// @dev One observed move of a case. `reopened`: the case had been closed (back to `None` after being open)
    /// before this move. `frozenFrom`: on a move into `Frozen`, the state the contract says it froze; on a move out
    /// of `Frozen`, the state the handler saw it freeze.
    struct Move {
        uint256 caseId;
        ICollateralManager.CaseState from;
        ICollateralManager.CaseState to;
        bool reopened;
        ICollateralManager.CaseState frozenFrom;
    }

    /// @dev The accounts the handler acts as, and the member ids it needs to pick the right one.
    struct Actors {
        address governance;
        address[2] banks;
        uint64[2] bankIds;
        address[2] agencies;
        uint64[2] agencyIds;
        address dmv;
        address[3] prices;
        address telematics;
        address risk;
    }

    ICollateralManager internal immutable _manager;
    Actors internal _actors;

    bytes32[4] internal _subjects;
    uint256[] internal _loans;

    Move[] internal _moves;
    mapping(uint256 caseId => ICollateralManager.CaseState) internal _lastState;
    mapping(uint256 caseId => bool) internal _closed;
    mapping(uint256 caseId => ICollateralManager.CaseState) internal _frozenFrom;
    /// @dev Record hash of every case seen in a final state (`Cured`, `Settled`, or closed back to `None`).
    uint256[] internal _finalCases;
    mapping(uint256 caseId => bytes32) internal _finalRecord;

    /// @dev Per loan, each price oracle's latest reported value and when (0: never).
    mapping(uint256 loanId => uint128[3]) internal _reported;
    mapping(uint256 loanId => uint40[3]) internal _reportedAt;
    /// @dev Accepted reports after which the published value (or its absence) differed from the handler's median.
    uint256 public valuationMismatches;

    mapping(bytes4 selector => uint256) public calls;
    mapping(ICollateralManager.CaseState => uint256) public reached;

    constructor(ICollateralManager manager_, Actors memory actors_) {
        _manager = manager_;
        _actors = actors_;
        for (uint256 i = 0; i < _subjects.length; ++i) {
            _subjects[i] = keccak256(abi.encode("invariant-subject", i));
        }
    }

    // ---------------------------------------------------------------- actions

    /// @dev Registers a loan and, three times in four, has the DMV confirm its lien at once.
    function registerLoan(uint256 subjectSeed, uint256 bankSeed, uint128 outstanding) external {
        bytes32 subject = _subjects[subjectSeed % _subjects.length];
        ICollateralManager.LoanTerms memory terms = ICollateralManager.LoanTerms({
            maxOverdueDays: 90,
            watchOverdueDays: 30,
            maxLtvBps: 8000,
            valueMoveBps: 0,
            curePeriod: 10 days,
            stepDeadline: 5 days
        });
        outstanding = uint128(_bound(outstanding, 0, 800_000));
        vm.prank(_actors.banks[bankSeed % 2]);
        try _manager.registerLoan(subject, 1_000_000, outstanding, 1_000_000, terms, keccak256("agreement")) returns (
            uint256 loanId
        ) {
            _loans.push(loanId);
            if (bankSeed % 4 != 0) {
                vm.prank(_actors.dmv);
                _manager.confirmLien(loanId, keccak256("dmv-lien"));
            }
        } catch {}
        _after(this.registerLoan.selector);
    }

    function confirmLien(uint256 loanSeed) external {
        if (_loans.length == 0) return;
        vm.prank(_actors.dmv);
        try _manager.confirmLien(_loans[loanSeed % _loans.length], keccak256("dmv-lien")) {} catch {}
        _after(this.confirmLien.selector);
    }

    function cancelLoan(uint256 loanSeed, uint256 bankSeed) external {
        if (_loans.length == 0) return;
        vm.prank(_actors.banks[bankSeed % 2]);
        try _manager.cancelLoan(_loans[loanSeed % _loans.length], keccak256("cancel")) {} catch {}
        _after(this.cancelLoan.selector);
    }

    function reportRepayment(uint256 loanSeed, uint256 bankSeed, uint16 daysOverdue, uint128 outstanding) external {
        if (_loans.length == 0) return;
        // Half the time the loan of an open case (so cures happen), otherwise any loan.
        uint256 loanId = _loans[loanSeed % _loans.length];
        (bool ok, uint256 caseId) = _pickCase(loanSeed / 2);
        if (ok && loanSeed % 2 == 0) loanId = _manager.getCase(caseId).loanId;
        // Mostly the loan's own bank; days overdue around the limits, with many "current" reports.
        address caller = bankSeed % 5 == 0 ? _actors.banks[bankSeed % 2] : _bankOf(loanId);
        daysOverdue = daysOverdue % 3 == 0 ? 0 : uint16(_bound(daysOverdue, 0, 120));
        outstanding = uint128(_bound(outstanding, 0, 850_000));
        vm.prank(caller);
        try _manager.reportRepayment(loanId, daysOverdue, outstanding, keccak256("repayment")) {} catch {}
        _after(this.reportRepayment.selector);
    }

    /// @dev The bank of an open case's loan reports it current (0 days overdue): a cure when the case allows one.
    function reportCurrent(uint256 caseSeed) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        uint256 loanId = _manager.getCase(caseId).loanId;
        uint128 outstanding = _manager.getLoan(loanId).outstanding;
        vm.prank(_bankOf(loanId));
        try _manager.reportRepayment(loanId, 0, outstanding, keccak256("current")) {} catch {}
        _after(this.reportCurrent.selector);
    }

    /// @dev By one of the three price oracles. Checks the published median against the handler's own.
    function reportValuation(uint256 subjectSeed, uint256 oracleSeed, uint128 value) external {
        // Mostly within 15% of the 1 000 000 baseline (about half of those past the 8% threshold); one time in
        // eight anywhere from 0 to 130%.
        value = value % 8 == 0 ? uint128(_bound(value, 0, 1_300_000)) : uint128(_bound(value, 850_000, 1_150_000));
        bytes32 subject = _subjectFor(subjectSeed);
        uint256 oracle = oracleSeed % 3;
        uint256 loanId = _manager.activeLoanOf(subject);
        ICollateralManager.Loan memory before;
        if (loanId != 0) before = _manager.getLoan(loanId);
        vm.prank(_actors.prices[oracle]);
        try _manager.reportValuation(subject, value, keccak256("valuation")) {
            _reported[loanId][oracle] = value;
            _reportedAt[loanId][oracle] = uint40(block.timestamp);
            _checkValuation(loanId, before);
        } catch {}
        _after(this.reportValuation.selector);
    }

    /// @dev Governance sets a quorum of 1 to 3 and a maximum age of 1 to 10 days.
    function setValuationPolicy(uint8 quorum, uint32 maxAge) external {
        ICollateralManager.ValuationPolicy memory policy = ICollateralManager.ValuationPolicy({
            quorum: uint8(_bound(quorum, 1, 3)), maxAge: uint32(_bound(maxAge, 1 days, 10 days))
        });
        vm.prank(_actors.governance);
        _manager.setValuationPolicy(policy);
        _after(this.setValuationPolicy.selector);
    }

    function reportTelematicsAlert(uint256 subjectSeed, uint8 severity) external {
        vm.prank(_actors.telematics);
        try _manager.reportTelematicsAlert(
            _subjectFor(subjectSeed), 1, ICollateralManager.Severity(severity % 4), keccak256("telematics")
        ) {}
            catch {}
        _after(this.reportTelematicsAlert.selector);
    }

    function reportDmvEvent(uint256 subjectSeed, uint8 kind) external {
        vm.prank(_actors.dmv);
        try _manager.reportDmvEvent(
            _subjectFor(subjectSeed), ICollateralManager.DmvEventKind(kind % 4), keccak256("dmv")
        ) {}
            catch {}
        _after(this.reportDmvEvent.selector);
    }

    function reportRiskWarning(uint256 subjectSeed, uint16 score) external {
        vm.prank(_actors.risk);
        try _manager.reportRiskWarning(_subjectFor(subjectSeed), uint16(_bound(score, 0, 10_000)), keccak256("risk")) {}
            catch {}
        _after(this.reportRiskWarning.selector);
    }

    function clearWatch(uint256 caseSeed) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        vm.prank(_bankOf(_manager.getCase(caseId).loanId));
        try _manager.clearWatch(caseId, keccak256("clear")) {} catch {}
        _after(this.clearWatch.selector);
    }

    /// @dev Three times in four, first jumps past the case's deadline (the end of its cure period).
    function orderRepossession(uint256 caseSeed, uint256 agencySeed) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        if (agencySeed % 4 != 0) _passDeadline(caseId);
        vm.prank(_bankOf(_manager.getCase(caseId).loanId));
        try _manager.orderRepossession(caseId, _actors.agencyIds[agencySeed % 2], keccak256("order")) {} catch {}
        _after(this.orderRepossession.selector);
    }

    /// @dev The next agency step for the case's state, by the assigned agency (or the other one, one time in five).
    function advance(uint256 caseSeed, uint256 actorSeed, uint128 amount) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        ICollateralManager.Case memory c = _manager.getCase(caseId);
        address caller = _agencyAccount(c.agencyMemberId, actorSeed % 5 == 0);
        _step(caseId, c.state, caller, amount);
        _after(this.advance.selector);
    }

    /// @dev Any agency step regardless of the case's state, by the assigned agency: mostly illegal, must be refused.
    function forceStep(uint256 caseSeed, uint8 stepSeed, uint128 amount) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        ICollateralManager.Case memory c = _manager.getCase(caseId);
        ICollateralManager.CaseState asIf = ICollateralManager.CaseState(4 + (stepSeed % 4));
        _step(caseId, asIf, _agencyAccount(c.agencyMemberId, false), amount);
        _after(this.forceStep.selector);
    }

    /// @dev One time in two, first jumps past the case's deadline.
    function escalate(uint256 caseSeed) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        if (caseSeed % 2 == 0) _passDeadline(caseId);
        try _manager.escalate(caseId) {} catch {}
        _after(this.escalate.selector);
    }

    function reassignAgency(uint256 caseSeed, uint256 agencySeed) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        vm.prank(_bankOf(_manager.getCase(caseId).loanId));
        try _manager.reassignAgency(caseId, _actors.agencyIds[agencySeed % 2], keccak256("reassign")) {} catch {}
        _after(this.reassignAgency.selector);
    }

    function freezeCase(uint256 caseSeed, bool byAgency) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        ICollateralManager.Case memory c = _manager.getCase(caseId);
        vm.prank(byAgency ? _agencyAccount(c.agencyMemberId, false) : _bankOf(c.loanId));
        try _manager.freezeCase(caseId, keccak256("dispute")) {} catch {}
        _after(this.freezeCase.selector);
    }

    function resolveFreeze(uint256 caseSeed, bool restore) external {
        (bool ok, uint256 caseId) = _pickCase(caseSeed);
        if (!ok) return;
        vm.prank(_actors.governance);
        try _manager.resolveFreeze(caseId, restore, keccak256("ruling")) {} catch {}
        _after(this.resolveFreeze.selector);
    }

    function warp(uint32 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1 hours, 6 days));
        _after(this.warp.selector);
    }

    // ---------------------------------------------------------------- views for the invariants

    function moveCount() external view returns (uint256) {
        return _moves.length;
    }

    function moveAt(uint256 index) external view returns (Move memory) {
        return _moves[index];
    }

    function loanIds() external view returns (uint256[] memory) {
        return _loans;
    }

    function subjects() external view returns (bytes32[4] memory) {
        return _subjects;
    }

    function finalCases() external view returns (uint256[] memory) {
        return _finalCases;
    }

    function finalRecord(uint256 caseId) external view returns (bytes32) {
        return _finalRecord[caseId];
    }

    // ---------------------------------------------------------------- internal

    /// @dev After an accepted report on `loanId`: at or above the quorum of fresh observations, the loan's value is
    /// their median (the mean of the middle two, rounded down, for two) published now; below it, nothing changed.
    function _checkValuation(uint256 loanId, ICollateralManager.Loan memory before) internal {
        ICollateralManager.ValuationPolicy memory policy = _manager.valuationPolicy();
        uint256[3] memory fresh;
        uint256 count;
        for (uint256 i = 0; i < 3; ++i) {
            uint40 at = _reportedAt[loanId][i];
            // forge-lint: disable-next-line(block-timestamp)
            if (at != 0 && uint256(at) + policy.maxAge >= block.timestamp) fresh[count++] = _reported[loanId][i];
        }
        ICollateralManager.Loan memory loan = _manager.getLoan(loanId);
        if (count < policy.quorum) {
            if (loan.lastValue != before.lastValue || loan.lastValuedAt != before.lastValuedAt) ++valuationMismatches;
            return;
        }
        // Sort up to three values.
        if (count > 1 && fresh[0] > fresh[1]) (fresh[0], fresh[1]) = (fresh[1], fresh[0]);
        if (count > 2 && fresh[1] > fresh[2]) (fresh[1], fresh[2]) = (fresh[2], fresh[1]);
        if (count > 1 && fresh[0] > fresh[1]) (fresh[0], fresh[1]) = (fresh[1], fresh[0]);
        uint256 median = count == 1 ? fresh[0] : count == 2 ? (fresh[0] + fresh[1]) / 2 : fresh[1];
        // forge-lint: disable-next-line(block-timestamp)
        if (loan.lastValue != median || loan.lastValuedAt != block.timestamp) ++valuationMismatches;
    }

    function _step(uint256 caseId, ICollateralManager.CaseState current, address caller, uint128 amount) internal {
        bytes32 evidence = keccak256(abi.encode("step", current));
        amount = uint128(_bound(amount, 0, 1_500_000));
        vm.prank(caller);
        if (current == ICollateralManager.CaseState.RepossessionOrdered) {
            try _manager.recordRepossession(caseId, evidence) {} catch {}
        } else if (current == ICollateralManager.CaseState.Repossessed) {
            try _manager.recordAppraisal(caseId, amount, evidence) {} catch {}
        } else if (current == ICollateralManager.CaseState.Appraised) {
            try _manager.recordAuction(caseId, amount, evidence) {} catch {}
        } else if (current == ICollateralManager.CaseState.Auctioned) {
            try _manager.recordSettlement(caseId, evidence) {} catch {}
        } else {
            try _manager.recordRepossession(caseId, evidence) {} catch {}
        }
    }

    /// @dev Reads every case and records each one whose state changed since the last read. A case starts in
    /// `None` (not yet opened); a later move back to `None` closes it.
    function _after(bytes4 selector) internal {
        ++calls[selector];
        uint256 count = _manager.caseCount();
        for (uint256 caseId = 1; caseId <= count; ++caseId) {
            ICollateralManager.Case memory c = _manager.getCase(caseId);
            ICollateralManager.CaseState previous = _lastState[caseId];
            if (c.state == previous) continue;
            bool frozen = c.state == ICollateralManager.CaseState.Frozen;
            _moves.push(
                Move({
                    caseId: caseId,
                    from: previous,
                    to: c.state,
                    reopened: _closed[caseId],
                    frozenFrom: frozen ? c.frozenFrom : _frozenFrom[caseId]
                })
            );
            ++reached[c.state];
            _lastState[caseId] = c.state;
            if (c.state == ICollateralManager.CaseState.None) _closed[caseId] = true;
            if (frozen) _frozenFrom[caseId] = c.frozenFrom;
            if (_isFinal(c.state) && _finalRecord[caseId] == bytes32(0)) {
                _finalCases.push(caseId);
                _finalRecord[caseId] = keccak256(abi.encode(c));
            }
        }
    }

    /// @dev Cured and Settled are final; `None` is reached only by closing an open case, final too.
    function _isFinal(ICollateralManager.CaseState s) internal pure returns (bool) {
        return s == ICollateralManager.CaseState.Cured || s == ICollateralManager.CaseState.Settled
            || s == ICollateralManager.CaseState.None;
    }

    /// @dev A subject for a report: three times in four the subject of a registered loan, otherwise any.
    function _subjectFor(uint256 seed) internal view returns (bytes32) {
        if (_loans.length == 0 || seed % 4 == 0) return _subjects[seed % _subjects.length];
        return _manager.getLoan(_loans[(seed / 4) % _loans.length]).subject;
    }

    /// @dev A case to act on: mostly one still open (not closed, cured or settled), from a random starting point;
    /// one time in eight any case, closed ones included.
    function _pickCase(uint256 seed) internal view returns (bool ok, uint256 caseId) {
        uint256 count = _manager.caseCount();
        if (count == 0) return (false, 0);
        uint256 start = seed % count;
        if (seed % 8 == 0) return (true, 1 + start);
        for (uint256 i = 0; i < count; ++i) {
            caseId = 1 + (start + i) % count;
            if (!_isFinal(_manager.state(caseId))) return (true, caseId);
        }
        return (true, 1 + start);
    }

    function _passDeadline(uint256 caseId) internal {
        uint40 deadline = _manager.getCase(caseId).deadline;
        // forge-lint: disable-next-line(block-timestamp)
        if (deadline >= block.timestamp) vm.warp(uint256(deadline) + 1);
    }

    function _bankOf(uint256 loanId) internal view returns (address) {
        return _manager.getLoan(loanId).bankMemberId == _actors.bankIds[0] ? _actors.banks[0] : _actors.banks[1];
    }

    function _agencyAccount(uint64 assigned, bool other) internal view returns (address) {
        bool first = assigned == _actors.agencyIds[0];
        if (other) first = !first;
        return first ? _actors.agencies[0] : _actors.agencies[1];
    }
}
