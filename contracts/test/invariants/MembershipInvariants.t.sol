// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ConsortiumTest} from "../utils/ConsortiumTest.sol";
import {Membership} from "../../src/Membership.sol";
import {IMembership} from "../../src/interfaces/IMembership.sol";
import {Roles} from "../../src/libraries/Roles.sol";

/// @dev Drives the membership through governance actions (directly as governance, and through real proposals)
/// over a fixed pool of accounts, and remembers every member it ever saw expelled. Arguments that need a view call
/// are computed before `vm.prank`, which would otherwise be taken by that view call.
contract MembershipHandler is Test {
    Membership public immutable membership;
    address[] public pool;

    uint64[] public expelledSeen;
    mapping(uint64 memberId => bool seen) public isExpelledSeen;

    mapping(bytes32 action => uint256 count) public successes;

    constructor(Membership membership_, address[] memory initialGovernors) {
        membership = membership_;
        for (uint256 i = 0; i < initialGovernors.length; ++i) {
            pool.push(initialGovernors[i]);
        }
        for (uint256 i = 0; i < 29; ++i) {
            pool.push(makeAddr(string.concat("actor", vm.toString(i))));
        }
    }

    // ---------------------------------------------------------------- actions

    function admit(uint256 firstSeed, uint256 secondSeed, uint256 roles, bool twoAccounts) external {
        address[] memory accounts = new address[](twoAccounts ? 2 : 1);
        accounts[0] = _account(firstSeed);
        if (twoAccounts) accounts[1] = _account(secondSeed);
        roles = _bound(roles, 1, Roles.ALL);
        vm.prank(address(membership));
        try membership.admitMember(accounts, roles, keccak256(abi.encode(accounts))) {
            ++successes["admit"];
        } catch {}
        _recordExpelled();
    }

    function setRoles(uint256 memberSeed, uint256 roles) external {
        roles = _bound(roles, 1, Roles.ALL);
        uint64 memberId = _member(memberSeed);
        vm.prank(address(membership));
        try membership.setRoles(memberId, roles) {
            ++successes["setRoles"];
        } catch {}
        _recordExpelled();
    }

    function suspend(uint256 memberSeed) external {
        uint64 memberId = _member(memberSeed);
        vm.prank(address(membership));
        try membership.suspend(memberId) {
            ++successes["suspend"];
        } catch {}
        _recordExpelled();
    }

    function reinstate(uint256 memberSeed) external {
        uint64 memberId = _member(memberSeed);
        vm.prank(address(membership));
        try membership.reinstate(memberId) {
            ++successes["reinstate"];
        } catch {}
        _recordExpelled();
    }

    function expel(uint256 memberSeed) external {
        uint64 memberId = _member(memberSeed);
        vm.prank(address(membership));
        try membership.expel(memberId) {
            ++successes["expel"];
        } catch {}
        _recordExpelled();
    }

    function addAccount(uint256 memberSeed, uint256 accountSeed) external {
        uint64 memberId = _member(memberSeed);
        address account = _account(accountSeed);
        vm.prank(address(membership));
        try membership.addAccount(memberId, account) {
            ++successes["addAccount"];
        } catch {}
        _recordExpelled();
    }

    /// @dev Mostly one of the member's own accounts (so that removals happen), sometimes any account of the pool.
    function removeAccount(uint256 memberSeed, uint256 accountSeed, bool anyAccount) external {
        uint64 memberId = _member(memberSeed);
        address account = _account(accountSeed);
        if (!anyAccount && memberId <= membership.memberCount()) {
            address[] memory accounts = membership.getMember(memberId).accounts;
            account = accounts[accountSeed % accounts.length];
        }
        vm.prank(address(membership));
        try membership.removeAccount(memberId, account) {
            ++successes["removeAccount"];
        } catch {}
        _recordExpelled();
    }

    /// @dev A real proposal: an active governor proposes one status or role change, every governor that may vote
    /// votes for, time runs to the eta, and anyone executes (the inner call may fail: then nothing changes).
    function passProposal(uint256 memberSeed, uint8 action, uint256 roles) external {
        address proposer;
        for (uint256 i = 0; i < pool.length && proposer == address(0); ++i) {
            if (membership.hasAnyRole(pool[i], Roles.GOVERNOR)) proposer = pool[i];
        }
        if (proposer == address(0)) return;
        uint64 memberId = _member(memberSeed);
        action = uint8(_bound(action, 0, 3));
        bytes[] memory calldatas = new bytes[](1);
        if (action == 0) calldatas[0] = abi.encodeCall(IMembership.suspend, (memberId));
        else if (action == 1) calldatas[0] = abi.encodeCall(IMembership.reinstate, (memberId));
        else if (action == 2) calldatas[0] = abi.encodeCall(IMembership.expel, (memberId));
        else calldatas[0] = abi.encodeCall(IMembership.setRoles, (memberId, _bound(roles, 1, Roles.ALL)));
        address[] memory targets = new address[](1);
        targets[0] = address(membership);

        vm.prank(proposer);
        uint256 proposalId = membership.propose(targets, calldatas, bytes32(0));
        for (uint256 i = 0; i < pool.length; ++i) {
            uint64 voter = membership.memberOf(pool[i]);
            if (voter != 0 && membership.canVote(proposalId, voter)) {
                vm.prank(pool[i]);
                membership.castVote(proposalId, true);
            }
        }
        vm.warp(membership.getProposal(proposalId).eta);
        if (membership.state(proposalId) == IMembership.ProposalState.Ready) {
            try membership.execute(proposalId) {
                ++successes["execute"];
            } catch {}
        }
        _recordExpelled();
    }

    // ---------------------------------------------------------------- helpers

    function poolLength() external view returns (uint256) {
        return pool.length;
    }

    function expelledSeenCount() external view returns (uint256) {
        return expelledSeen.length;
    }

    function _account(uint256 seed) internal view returns (address) {
        return pool[seed % pool.length];
    }

    /// @dev Mostly existing members, sometimes one past the last (unknown).
    function _member(uint256 seed) internal view returns (uint64) {
        return uint64(_bound(seed, 1, uint256(membership.memberCount()) + 1));
    }

    function _recordExpelled() internal {
        uint64 count = membership.memberCount();
        for (uint64 id = 1; id <= count; ++id) {
            if (!isExpelledSeen[id] && membership.getMember(id).status == IMembership.MemberStatus.Expelled) {
                isExpelledSeen[id] = true;
                expelledSeen.push(id);
            }
        }
    }
}

contract MembershipInvariants is ConsortiumTest {
    MembershipHandler internal handler;

    function setUp() public {
        _deployMembership();
        address[] memory governors = new address[](3);
        governors[0] = governorA;
        governors[1] = governorB;
        governors[2] = governorC;
        handler = new MembershipHandler(membership, governors);
        targetContract(address(handler));
    }

    /// @dev Every account is listed by at most one member, and exactly by the member `memberOf` names: each listed
    /// account names its lister (so no second member can list it) and appears once in that list; each bound
    /// account of the pool is in its member's list.
    function invariant_accountBoundToAtMostOneMember() public view {
        uint64 count = membership.memberCount();
        for (uint64 id = 1; id <= count; ++id) {
            address[] memory accounts = membership.getMember(id).accounts;
            for (uint256 j = 0; j < accounts.length; ++j) {
                assertEq(membership.memberOf(accounts[j]), id, "listed by a member memberOf does not name");
                for (uint256 k = j + 1; k < accounts.length; ++k) {
                    assertTrue(accounts[j] != accounts[k], "listed twice");
                }
            }
        }
        uint256 poolLength = handler.poolLength();
        for (uint256 i = 0; i < poolLength; ++i) {
            address account = handler.pool(i);
            uint64 boundTo = membership.memberOf(account);
            if (boundTo == 0) continue;
            address[] memory accounts = membership.getMember(boundTo).accounts;
            bool listed;
            for (uint256 j = 0; j < accounts.length; ++j) {
                if (accounts[j] == account) listed = true;
            }
            assertTrue(listed, "bound but not listed");
        }
    }

    function invariant_everyMemberKeepsAnAccount() public view {
        uint64 count = membership.memberCount();
        for (uint64 id = 1; id <= count; ++id) {
            assertGt(membership.getMember(id).accounts.length, 0);
        }
    }

    function invariant_activeGovernorCountMatchesMembers() public view {
        uint64 count = membership.memberCount();
        uint32 governors;
        for (uint64 id = 1; id <= count; ++id) {
            IMembership.Member memory member = membership.getMember(id);
            if (member.status == IMembership.MemberStatus.Active && member.roles & Roles.GOVERNOR != 0) ++governors;
        }
        assertEq(membership.activeGovernorCount(), governors);
        assertGe(governors, 1, "the last active governor is kept");
    }

    function invariant_expelledMemberNeverActiveAgain() public view {
        uint256 seen = handler.expelledSeenCount();
        for (uint256 i = 0; i < seen; ++i) {
            uint64 id = handler.expelledSeen(i);
            assertEq(uint8(membership.getMember(id).status), uint8(IMembership.MemberStatus.Expelled));
        }
    }

    /// @dev `authorize` gives a member id and roles exactly to the accounts of active members.
    function invariant_authorizeOnlyForActiveMembers() public view {
        uint256 poolLength = handler.poolLength();
        for (uint256 i = 0; i < poolLength; ++i) {
            address account = handler.pool(i);
            (uint64 memberId, uint256 roles) = membership.authorize(account);
            uint64 boundTo = membership.memberOf(account);
            if (boundTo == 0) {
                assertEq(memberId, 0);
                assertEq(roles, 0);
                continue;
            }
            IMembership.Member memory member = membership.getMember(boundTo);
            if (member.status == IMembership.MemberStatus.Active) {
                assertEq(memberId, boundTo);
                assertEq(roles, member.roles);
                assertGt(roles, 0);
            } else {
                assertEq(memberId, 0, "inactive member authorized");
                assertEq(roles, 0, "inactive member has roles");
            }
        }
    }

    function invariant_rolesStayWithinDefinedMask() public view {
        uint64 count = membership.memberCount();
        for (uint64 id = 1; id <= count; ++id) {
            assertEq(membership.getMember(id).roles & ~Roles.ALL, 0);
        }
    }
}
